/**
 * Anti-spoofing: the authenticated digest user must be the user named in From (caller ID), or in
 * To for a REGISTER (the registrar-side check is `registrar.enforce_auth_aor_match`). SIP user parts
 * are case-sensitive after unescaping (RFC 3261 §19.1.4).
 */

/** Extracts and unescapes the user part of a sip:/sips: URI (optionally inside a name-addr); null if none. */
export function sipUserOf(uriOrNameAddr: string): string | null {
  let uri = uriOrNameAddr.trim();
  // Skip a quoted display name first: it may itself contain '<' (RFC 3261 §25.1 quoted-string).
  let i = 0;
  if (uri.startsWith('"')) {
    for (i = 1; i < uri.length && uri[i] !== '"'; i++) if (uri[i] === '\\') i++;
  }
  const lt = uri.indexOf('<', i);
  if (lt >= 0) {
    const gt = uri.indexOf('>', lt);
    uri = uri.slice(lt + 1, gt >= 0 ? gt : undefined);
  } else {
    const semi = uri.indexOf(';');
    if (semi >= 0) uri = uri.slice(0, semi);
  }
  const scheme = /^sips?:/i.exec(uri);
  if (scheme === null) return null;
  let rest = uri.slice(scheme[0].length);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  // '@' cannot appear unescaped in a user part, so the first one ends the userinfo (which may hold ';').
  const at = rest.indexOf('@');
  if (at <= 0) return null;
  const userinfo = rest.slice(0, at);
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
