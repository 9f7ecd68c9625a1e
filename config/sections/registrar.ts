/** `registrar.*`: RFC 3261 §10.3 binding limits, RFC 3608 Service-Route. */
import { bool, int, list, obj, refine, str } from '../fields.js';

export const registrarSection = refine(
  obj({
    default_expires: int(3600, 0, 2 ** 31 - 1),
    min_expires: int(60, 0, 2 ** 31 - 1),
    max_expires: int(86_400, 0, 2 ** 31 - 1),
    max_contacts: int(10, 1, 10_000),
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
