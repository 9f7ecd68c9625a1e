/** `auth.*`: digest authentication (RFC 2617 / RFC 7616) credentials and nonce policy. */
import { int, list, obj, oneOf, optStr, refine, str } from '../fields.js';

const user = refine(
  obj({
    username: str(),
    password: optStr(),
    /** Precomputed H(username:realm:password), hex. */
    ha1: optStr(),
    /** Realm the credentials belong to; defaults to `auth.realm`. */
    realm: optStr(),
  }),
  (u) => ((u.password === null) === (u.ha1 === null) ? 'exactly one of password or ha1 is required' : null),
);

export const authSection = obj({
  backend: oneOf(['static', 'http'] as const, 'static'),
  realm: str('siphon'),
  algorithms: list(oneOf(['MD5', 'SHA-256'] as const), ['MD5']),
  /** HMAC key binding nonces to the cluster, so any node verifies another's nonce; null = per-process key. */
  nonce_secret: optStr(),
  nonce_ttl_secs: int(3600, 1, 86_400), // RFC 7616 §3.3 replay window; SIPhon default
  users: list(user, []),
  http: obj({
    url: optStr(),
    cache_ttl_secs: int(60, 0, 86_400),
    timeout_ms: int(2000, 1, 60_000),
  }),
});
