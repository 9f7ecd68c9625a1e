/** `log.*`: pino output format, destination and level. */
import { obj, oneOf, optStr } from '../fields.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const logSection = obj({
  format: oneOf(['json', 'pretty'] as const, 'json'),
  /** Append to this file instead of stdout; SIGHUP reopens it (logrotate `postrotate`). */
  file: optStr(),
  level: oneOf(LOG_LEVELS, 'info'),
});
