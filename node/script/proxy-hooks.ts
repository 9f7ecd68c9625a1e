// Bridges the live script's handlers to the proxy core's hooks. The handler set is read once per
// event, so a hot reload mid-call never mixes two script versions within one event.

import type { ProxyHooks, ScriptRequest, ScriptResponse } from '../proxy/index.js';
import type { HandlerSet } from './api.js';

export function proxyHooksFrom(current: () => HandlerSet): ProxyHooks {
  return {
    async onRequest(request: ScriptRequest): Promise<void> {
      // Handlers run in registration order until one decides (reply/relay/fork).
      for (const h of current().onRequest) {
        await h(request);
        if (request.decided) return;
      }
    },
    async onReply(request: ScriptRequest, response: ScriptResponse): Promise<void> {
      for (const h of current().onReply) await h(request, response);
    },
    async onFailure(request: ScriptRequest, response: ScriptResponse): Promise<void> {
      for (const h of current().onFailure) await h(request, response);
    },
    async onCancel(request: ScriptRequest): Promise<void> {
      for (const h of current().onCancel) await h(request);
    },
  };
}
