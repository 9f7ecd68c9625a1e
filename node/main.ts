#!/usr/bin/env -S node --max-semi-space-size=16
/**
 * `siphon [--config FILE] [--set key.path=value ...]`: loads config (a bad key stops start-up with
 * file + key path, exit 2), starts the node, logs one `ready` line with the bound listeners, and
 * shuts down cleanly on SIGTERM/SIGINT. SIGHUP reopens the log file (logrotate).
 */
import { ConfigError, loadConfig, parseCliArgs } from '../config/index.js';
import { startSipApp, startingRoute, warmUp, type SipApp } from './app/index.js';
import { startSipNode, tuneGarbageCollector } from './core/index.js';
import { createLogger } from './log/index.js';

const USAGE = 'usage: siphon [--config FILE] [--set key.path=value ...]\n';

async function main(): Promise<number> {
  tuneGarbageCollector();
  let loaded;
  try {
    const args = parseCliArgs(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    loaded = loadConfig({ file: args.configFile, sets: args.sets });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`siphon: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { config, file } = loaded;
  const { logger, reopen, flush } = createLogger(config.log);
  // Signal handlers go in before anything binds, so a SIGTERM during start-up still stops cleanly.
  let node: Awaited<ReturnType<typeof startSipNode>> | undefined;
  let app: SipApp | undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    // The deadline first: nothing below (a failing log, a stuck socket) may keep the process up.
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    logger.info({ signal }, 'stopping');
    app?.stop();
    void (node ? node.stop() : Promise.resolve()).then(() => {
      logger.info('stopped');
      flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => reopen());
  // From here a SIGTERM stops the node cleanly: the first line an operator (or a test) can wait for.
  logger.info({ config: file, pid: process.pid }, 'starting');
  // Last line of defence: log and keep serving; bad input is handled long before this.
  // A throw inside these handlers would end the process, so a logger that throws (a destroyed
  // destination) falls back to stderr.
  const lastResort = (what: string, err: unknown): void => {
    try {
      logger.error({ err }, what);
    } catch {
      try {
        process.stderr.write(`siphon: ${what}: ${String(err)}\n`);
      } catch {
        // nowhere left to say it; keep serving
      }
    }
  };
  process.on('uncaughtException', (err) => lastResort('uncaught exception', err));
  process.on('unhandledRejection', (err) => lastResort('unhandled rejection', err));

  if (config.warmup.enabled && config.warmup.duration_ms > 0) {
    // Before anything binds: until the listeners exist, a UA's requests go to another node or are
    // retransmitted, instead of queueing behind code V8 has not compiled yet.
    const report = await warmUp(config, logger);
    if (report !== null) logger.info(report, 'warm-up done');
    if (stopping) return -1;
  }
  try {
    node = await startSipNode(config, logger, { route: startingRoute });
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    flush();
    return 1;
  }
  if (stopping) return -1; // shutdown() owns the exit now
  // Registrar + stateful proxy + auth + routing script (scripts/default.ts unless script.path is set).
  try {
    app = await startSipApp(node, config, logger);
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await node.stop();
    flush();
    return 1;
  }
  if (stopping) {
    app.stop();
    return -1;
  }
  // The cluster keys are the event-log work's (DESIGN principle 2); until the registrar and dialogs
  // run on that log, an operator who sets them must not believe state survives a restart.
  if (config.cluster.data_dir !== null || config.cluster.peers.length > 0) {
    logger.warn(
      { config: file, data_dir: config.cluster.data_dir, peers: config.cluster.peers.length },
      'cluster.data_dir and cluster.peers are not used by the SIP node yet: registrations and dialogs are held in memory only, so a restart loses them and other nodes do not see them (run the replicated log itself with ops/raft-node)',
    );
  }
  logger.info(
    {
      config: file,
      listeners: node.listeners.map((l) => `${l.transport}:${l.host}:${l.port}`),
      admin: node.adminPort,
      node_id: config.cluster.node_id,
    },
    'ready',
  );
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`siphon: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
