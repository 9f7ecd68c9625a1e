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

/** What every in-process test node runs with unless `raw` says otherwise: one UDP port, no admin, no logs. */
const TEST_DEFAULTS: Record<string, unknown> = {
  listen: { udp: ['127.0.0.1:0'] },
  admin: { enabled: false },
  log: { level: 'silent' },
};

/**
 * `raw` is a config file's content over TEST_DEFAULTS (top-level sections replace the default's),
 * validated by the schema; `appOptions` go to startSipApp.
 */
export async function startInProcessApp(raw: Record<string, unknown>, appOptions?: Parameters<typeof startSipApp>[3]): Promise<InProcessApp> {
  const config = configSchema.decode({ ...TEST_DEFAULTS, ...raw }, '');
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
