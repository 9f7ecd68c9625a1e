// Public face of routing as user code: a TS/JS module at `script.path` exports
// `default function (api: ScriptApi)` and registers handlers; ScriptHost loads it (.js/.mjs as is,
// .ts through the typescript package), hot-reloads it (`script.reload: auto | sighup`), and
// keeps the old handlers when a new version fails to load. `createRoutingStack` assembles host +
// proxy + registrar/auth/proxy ports for node/core.
export {
  createScriptApi, EMPTY_HANDLERS,
  type ScriptApi, type HandlerSet, type ScriptPorts, type RegistrarPort, type AuthPort, type ScriptLogger,
  type ScriptContact, type OutgoingRequest, type ProxyPort, type RequestHandler, type ReplyHandler, type FailureHandler, type CancelHandler,
  type RegistrarChangeHandler, type RegistrationChange, type RegistrationChangeKind, type Awaitable,
} from './api.js';
export { ScriptHost, type ScriptHostOptions, type ScriptReloadMode } from './script-host.js';
export { importScriptModule } from './module-loader.js';
export { proxyHooksFrom } from './proxy-hooks.js';
export type { ScriptRequest, ScriptResponse, ForkTarget, ForkOptions, RelayOptions, NextHop } from '../proxy/index.js';
export { registrarPort, authPort, proxyPort, forwardRegistrarChanges } from './node-ports.js';
export { createRoutingStack, defaultScriptPath, type RoutingStack, type RoutingStackOptions } from './routing-stack.js';
