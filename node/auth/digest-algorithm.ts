/**
 * Digest hash computations (RFC 2617 §3.2.2, RFC 7616 §3.4.1–3.4.3, RFC 8760 for SIP).
 * Pure functions over strings; all digests are lowercase hex.
 */
import { createHash } from 'node:crypto';

/** Algorithms this server can verify; `-sess` variants reuse the base hash (RFC 7616 §3.4.2). */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

const NODE_HASH: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

const CANONICAL = new Map<string, DigestAlgorithm>(
  (['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const).map((a) => [a.toLowerCase(), a]),
);

/** Case-insensitive algorithm-name lookup (RFC 7616 §3.3: the token is case-insensitive). */
export function parseAlgorithm(name: string | null): DigestAlgorithm | null {
  // RFC 2617 §3.2.1: an absent algorithm means MD5.
  if (name === null) return 'MD5';
  return CANONICAL.get(name.toLowerCase()) ?? null;
}

export function baseAlgorithm(alg: DigestAlgorithm): 'MD5' | 'SHA-256' | 'SHA-512-256' {
  return alg.replace(/-sess$/, '') as 'MD5' | 'SHA-256' | 'SHA-512-256';
}

export function isSessionAlgorithm(alg: DigestAlgorithm): boolean {
  return alg.endsWith('-sess');
}

/** Hex length of a digest for this algorithm (used to sanity-check stored HA1 values). */
export function digestHexLength(alg: DigestAlgorithm): number {
  return baseAlgorithm(alg) === 'MD5' ? 32 : 64;
}

export function hashHex(alg: DigestAlgorithm, data: string | Buffer): string {
  return createHash(NODE_HASH[baseAlgorithm(alg)]).update(data).digest('hex');
}

/** HA1 = H(username ":" realm ":" password) — what a credential store keeps instead of the password. */
export function computeHa1(alg: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hashHex(alg, `${username}:${realm}:${password}`);
}

export interface ResponseInput {
  readonly algorithm: DigestAlgorithm;
  /** Stored H(username:realm:password), lowercase hex. */
  readonly ha1: string;
  readonly nonce: string;
  readonly method: string;
  readonly uri: string;
  readonly qop: 'auth' | 'auth-int' | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
  /** Message body, only used by qop=auth-int. */
  readonly body?: string | Buffer;
}

/** The expected `response` value for the given credentials. */
export function computeResponse(input: ResponseInput): string {
  const { algorithm: alg, nonce, qop } = input;
  const cnonce = input.cnonce ?? '';
  // RFC 7616 §3.4.2: -sess algorithms bind HA1 to this nonce/cnonce pair.
  const ha1 = isSessionAlgorithm(alg) ? hashHex(alg, `${input.ha1}:${nonce}:${cnonce}`) : input.ha1;
  // RFC 7616 §3.4.3: auth-int folds H(entity-body) into A2.
  const a2 =
    qop === 'auth-int'
      ? `${input.method}:${input.uri}:${hashHex(alg, input.body ?? '')}`
      : `${input.method}:${input.uri}`;
  const ha2 = hashHex(alg, a2);
  // RFC 2617 §3.2.2.1: without qop (RFC 2069 compatibility) the response omits nc/cnonce/qop.
  if (qop === null) return hashHex(alg, `${ha1}:${nonce}:${ha2}`);
  return hashHex(alg, `${ha1}:${nonce}:${input.nc ?? ''}:${cnonce}:${qop}:${ha2}`);
}
