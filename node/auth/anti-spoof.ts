/**
 * Anti-spoofing: the authenticated digest user must be the user named in From (caller ID), or in
 * To for a REGISTER (the registrar-side check is `registrar.enforce_auth_aor_match`). SIP user parts
 * are case-sensitive after unescaping (RFC 3261 §19.1.4).
 */

/** Extracts and unescapes the user part of a sip:/sips: URI (optionally inside a name-addr); null if none. */
export function sipUserOf(uriOrNameAddr: string): string | null {
  const lt = uriOrNameAddr.indexOf('<');
  let uri = uriOrNameAddr.trim();
  if (lt >= 0) {
    const gt = uriOrNameAddr.indexOf('>', lt);
    uri = uriOrNameAddr.slice(lt + 1, gt >= 0 ? gt : undefined);
  }
  const m = /^sips?:([^@;?>]*)@/i.exec(uri);
  if (m === null) return null;
  const userinfo = m[1];
  const colon = userinfo.indexOf(':');
  const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

/** True when the authenticated username owns the identity in `fromUri` (a URI or From header value). */
export function authUserMatchesUri(authUser: string, fromUri: string): boolean {
  const user = sipUserOf(fromUri);
  return user !== null && user === authUser;
}
