/** `server.*`: the identity this node puts on messages it generates (RFC 3261 §20.35, §20.41). */
import { obj, str } from '../fields.js';

export const SERVER_IDENTITY = 'SIPhon-TS/0.1.0';

export const serverSection = obj({
  /** Value of the Server header on responses this node generates; "" omits the header. */
  server_header: str(SERVER_IDENTITY),
  /** Value of the User-Agent header on requests this node originates; "" omits the header. */
  user_agent_header: str(SERVER_IDENTITY),
});
