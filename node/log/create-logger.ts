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

/** Lines held while the destination refuses writes (disk full, EIO); beyond it lines are dropped. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** At most one stderr notice per this interval about a failing log destination. */
const NOTICE_INTERVAL_MS = 60_000;

export function createLogger(cfg: SiphonConfig['log'], name = 'siphon'): NodeLogger {
  const file = cfg.file;
  const sonic = pino.destination({ dest: file ?? 1, sync: file === null, mkdir: file !== null, append: true, maxLength: MAX_BUFFERED_BYTES });
  // A log destination that fails (disk full, EIO, a vanished mount) must not take the SIP service
  // down or spin: without a listener the stream's 'error' is thrown, the uncaught-exception handler
  // logs it, that write fails again, and so on. Lines wait in a bounded buffer and are written once
  // the destination accepts them again (or after SIGHUP reopens the file); the rest are dropped and
  // counted. Operators hear about it on stderr, at most once a minute.
  let lastNotice = -Infinity;
  let dropped = 0;
  const notice = (what: string): void => {
    const now = Date.now();
    if (now - lastNotice < NOTICE_INTERVAL_MS) return;
    lastNotice = now;
    try {
      process.stderr.write(`siphon: log ${file ?? 'stdout'}: ${what}${dropped > 0 ? ` (${dropped} lines dropped so far)` : ''}\n`);
    } catch {
      // stderr gone too: nothing left to tell
    }
  };
  let failing = false;
  sonic.on('error', (err: NodeJS.ErrnoException) => {
    failing = true;
    notice(`write failed (${err.code ?? err.message}); lines are kept up to 8 MiB and written when it recovers`);
  });
  sonic.on('write', () => {
    failing = false;
  });
  // sonic-boom's flushSync retries a failing write forever (only EAGAIN/EBUSY are meant to be
  // retried), blocking the event loop: at shutdown, and in pino's own exit hook, a full disk would
  // hang the process past its SIGTERM deadline. While the destination fails, a synchronous flush
  // gives up on the buffered lines instead.
  const flushSync = sonic.flushSync.bind(sonic);
  sonic.flushSync = (): void => {
    if (!failing) flushSync();
  };
  sonic.on('drop', () => {
    dropped++;
    notice('buffer full, dropping lines');
  });
  const stream = cfg.format === 'pretty' ? loadPretty()({ destination: sonic, colorize: false, sync: true }) : sonic;
  const logger = pino({ name, level: cfg.level, base: { pid: process.pid } }, stream);
  return {
    logger,
    reopen: () => {
      if (file === null) return;
      try {
        sonic.reopen();
      } catch (err) {
        notice(`reopen failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
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
