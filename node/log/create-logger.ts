/**
 * pino logger built from `log.*`: JSON (default, one line per event) or human-readable via
 * pino-pretty, to stdout or an append-only file. File destinations reopen on `reopen()` so
 * logrotate's `postrotate kill -HUP` works.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { SiphonConfig } from '../../config/index.js';

export type { Logger };

export interface NodeLogger {
  readonly logger: Logger;
  /** Reopens the log file after rotation (no-op on stdout). */
  reopen(): void;
  /** Flushes buffered lines (call before exit). */
  flush(): void;
}

/** pino-pretty is loaded only when asked for: JSON nodes (production) skip its start-up cost. */
function loadPretty(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}

export function createLogger(cfg: SiphonConfig['log'], name = 'siphon'): NodeLogger {
  const file = cfg.file;
  const sonic = pino.destination({ dest: file ?? 1, sync: file === null, mkdir: file !== null, append: true });
  const stream = cfg.format === 'pretty' ? loadPretty()({ destination: sonic, colorize: false, sync: true }) : sonic;
  const logger = pino({ name, level: cfg.level, base: { pid: process.pid } }, stream);
  return {
    logger,
    reopen: () => {
      if (file !== null) sonic.reopen();
    },
    flush: () => {
      try {
        sonic.flushSync();
      } catch {
        // not yet ready (async file still opening): nothing buffered to lose
      }
    },
  };
}
