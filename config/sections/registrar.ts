/** `registrar.*`: RFC 3261 §10.3 binding limits, RFC 3608 Service-Route. */
import { bool, int, list, obj, refine, str } from '../fields.js';

export const registrarSection = refine(
  obj({
    default_expires: int(3600, 0, 2 ** 31 - 1),
    min_expires: int(60, 0, 2 ** 31 - 1),
    max_expires: int(86_400, 0, 2 ** 31 - 1),
    max_contacts: int(10, 1, 10_000),
    /**
     * Bindings the node holds in all (0 = no limit). Past it a REGISTER that would add one gets 503
     * with Retry-After, refreshes and removals still pass: memory stays bounded however many AoRs a
     * flood registers (≈1.3 KB per binding on the heap).
     */
    max_bindings: int(1_000_000, 0, 2 ** 31 - 1),
    /** 403 when the authenticated user does not own the To AoR (checked before any clearing). */
    enforce_auth_aor_match: bool(false),
    /** Service-Route URIs returned on a successful REGISTER (RFC 3608 §6). */
    service_route: list(str(), []),
  }),
  (r) =>
    r.min_expires > r.max_expires
      ? `min_expires (${r.min_expires}) exceeds max_expires (${r.max_expires})`
      : r.default_expires < r.min_expires || r.default_expires > r.max_expires
        ? `default_expires (${r.default_expires}) is outside [min_expires, max_expires]`
        : null,
);
