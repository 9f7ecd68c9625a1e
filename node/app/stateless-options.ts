// RFC 3261 §11.2: an OPTIONS addressed to this node itself — not to a registered user, not in a
// dialog — is answered by the node (keepalive and monitoring probes) instead of being routed.
import { parseUri, type SipRequest } from '../sip/index.js';

/**
 * `authRequired`: digest auth is configured, so only a probe without a user part is the node's to
 * answer. An OPTIONS naming a user then goes to the auth gate like any request to that user: the
 * same 407 whether the user is registered or not, where answering the unregistered ones here
 * (and challenging the others) would list the registered users to any scanner.
 */
export function optionsForUs(
  req: SipRequest,
  isOwnAddress: (host: string, port: number) => boolean,
  hasBindings: (uri: string) => boolean,
  authRequired = false,
): boolean {
  if (req.method !== 'OPTIONS') return false;
  let host: string;
  let port: number;
  let user: string | undefined;
  try {
    const uri = parseUri(req.uri);
    if (uri.scheme === 'tel') return false;
    host = uri.host;
    port = uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060);
    user = uri.user;
  } catch {
    return false;
  }
  if (!isOwnAddress(host, port)) return false;
  const to = req.headers.get('To') ?? '';
  if (/;\s*tag\s*=/i.test(to)) return false;
  if (user === undefined || user === '') return true;
  return !authRequired && !hasBindings(req.uri);
}
