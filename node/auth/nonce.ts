/**
 * Timestamp-bound, HMAC-protected nonces (RFC 7616 §3.3, §5.4 on nonce lifetime):
 * `{unix_secs:016x}.{salt}{mac}` where mac = HMAC-SHA256(secret, "{ts}.{salt}") truncated to 128 bits.
 * Stateless: any node holding the same secret verifies a nonce issued by any other node, so a
 * re-REGISTER landing elsewhere in the cluster is not challenged again. No per-nonce memory.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SALT_HEX = 16;
const MAC_HEX = 32;
const NONCE_RE = /^([0-9a-f]{16})\.([0-9a-f]{16})([0-9a-f]{32})$/;
/** A nonce stamped this far in the future (clock skew between nodes) is still accepted. */
const FUTURE_SKEW_SECS = 30;

/** randomBytes per challenge is a syscall-priced call; draw salts from a pooled buffer instead. */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function pooledRandomHex(hexChars: number): string {
  const bytes = Math.ceil(hexChars / 2);
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex.slice(0, hexChars);
}

export type NonceVerdict = 'valid' | 'stale' | 'invalid';

export interface NonceOptions {
  /** Shared cluster secret; null generates a random per-process key (nonces then verify only here). */
  readonly secret: string | null;
  readonly ttlSecs: number;
  /** Injectable randomness for deterministic tests. */
  readonly randomHex?: (hexChars: number) => string;
}

export class NonceService {
  private readonly key: Buffer;
  private readonly ttlSecs: number;
  private readonly randomHex: (hexChars: number) => string;

  constructor(opts: NonceOptions) {
    this.key = opts.secret === null ? randomBytes(32) : Buffer.from(opts.secret, 'utf8');
    this.ttlSecs = opts.ttlSecs;
    this.randomHex = opts.randomHex ?? pooledRandomHex;
  }

  private mac(stampAndSalt: string): string {
    return createHmac('sha256', this.key).update(stampAndSalt).digest('hex').slice(0, MAC_HEX);
  }

  issue(nowMs: number): string {
    const stamp = Math.floor(nowMs / 1000).toString(16).padStart(16, '0');
    const salt = this.randomHex(SALT_HEX);
    const body = `${stamp}.${salt}`;
    return `${body}${this.mac(body)}`;
  }

  /** Integrity first: a forged or foreign nonce is `invalid` whatever its age, never `stale`. */
  verify(nonce: string, nowMs: number): NonceVerdict {
    const m = NONCE_RE.exec(nonce);
    if (m === null) return 'invalid';
    const expected = Buffer.from(this.mac(`${m[1]}.${m[2]}`), 'utf8');
    const given = Buffer.from(m[3], 'utf8');
    if (!timingSafeEqual(expected, given)) return 'invalid';
    const issuedSecs = parseInt(m[1], 16);
    const nowSecs = Math.floor(nowMs / 1000);
    if (issuedSecs > nowSecs + FUTURE_SKEW_SECS) return 'invalid';
    if (nowSecs - issuedSecs > this.ttlSecs) return 'stale';
    return 'valid';
  }
}

export const NONCE_SALT_HEX = SALT_HEX;
