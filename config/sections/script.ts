/** `script.*`: the routing module (user TypeScript/JS) and how it is reloaded. */
import { obj, oneOf, optStr } from '../fields.js';

export const scriptSection = obj({
  path: optStr(),
  reload: oneOf(['none', 'auto', 'sighup'] as const, 'none'),
});
