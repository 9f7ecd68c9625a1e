/**
 * Flow tokens in our Record-Route user part (RFC 5626 §5.3, as an edge proxy does): a WebSocket
 * client can be reached only over the connection it opened, and its Contact (`…@x.invalid;
 * transport=ws`) names no address. When we record-route a request on the side of such a
 * connection, the entry carries a token naming it; an in-dialog request that comes back through
 * that entry, and did not itself arrive over that connection, is sent over it.
 *
 * The token is the connection id with an HMAC under a per-process key, so a Route header cannot
 * be forged to reach another client's connection, and tokens of an earlier process (whose
 * connection ids meant other connections) never verify.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN = /^ft(\d{1,15})\.([0-9a-f]{16})$/;

export class FlowTokens {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  private mac(connectionId: string): string {
    return createHmac('sha256', this.key).update(connectionId).digest('hex').slice(0, 16);
  }

  /** A token for the connection (URI user-part safe: letters, digits, '.'). */
  mint(connectionId: string): string {
    return `ft${connectionId}.${this.mac(connectionId)}`;
  }

  /** The connection id a token names, or null when it is not one of ours. */
  open(token: string): string | null {
    const m = TOKEN.exec(token);
    if (m === null) return null;
    const expected = Buffer.from(this.mac(m[1]));
    const given = Buffer.from(m[2]);
    return given.length === expected.length && timingSafeEqual(given, expected) ? m[1] : null;
  }

  /**
   * §5.3: the connection to send over, from the user part of the last of our Route entries a
   * request passed (the one facing its destination): when it is a token that verifies and does not
   * name the connection the request arrived on.
   */
  pick(lastPoppedUser: string | undefined, arrivedOn: string | null): string | undefined {
    if (lastPoppedUser === undefined) return undefined;
    const id = this.open(lastPoppedUser);
    return id !== null && id !== arrivedOn ? id : undefined;
  }
}
