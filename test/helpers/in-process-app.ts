// The node (node/core on 127.0.0.1 sockets) with the app composed over it, in this process: what
// the app-level tests drive over real UDP without a child process.
import { configSchema } from '../../config/index.js';
import { startSipApp, type SipApp } from '../../node/app/index.js';
import { startSipNode, type SipNode } from '../../node/core/index.js';
import { createLogger } from '../../node/log/index.js';

export interface InProcessApp {
  readonly node: SipNode;
  readonly app: SipApp;
  /** The first UDP listener's port. */
  readonly port: number;
  stop(): Promise<void>;
}

/** `raw` is a config file's content (validated by the schema); `appOptions` go to startSipApp. */
export async function startInProcessApp(raw: Record<string, unknown>, appOptions?: Parameters<typeof startSipApp>[3]): Promise<InProcessApp> {
  const config = configSchema.decode(raw, '');
  const log = createLogger(config.log).logger;
  const node = await startSipNode(config, log);
  const app = await startSipApp(node, config, log, appOptions);
  return {
    node,
    app,
    port: node.udp[0].listener.port,
    stop: async () => {
      app.stop();
      await node.stop();
    },
  };
}
