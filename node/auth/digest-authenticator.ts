/**
 * The digest authentication decision (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760): given the
 * request's credentials and `now`, either an authenticated identity, a fresh challenge
 * (401 WWW-Authenticate for REGISTER / UAS, 407 Proxy-Authenticate for proxied requests), a 400
 * for malformed credentials, or a 503 when the credential store is down. Sockets stay outside.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  computeResponse,
  digestHexLength,
  isSessionAlgorithm,
  parseAlgorithm,
  type DigestAlgorithm,
} from './digest-algorithm.js';
import { DigestHeaderError, parseDigestCredentials, quote, type DigestCredentials } from './digest-header.js';
import { CredentialBackendError, type CredentialBackend } from './credential-backend.js';
import type { NonceService } from './nonce.js';

/** 401 (registrar/UAS, WWW-Authenticate) or 407 (proxy, Proxy-Authenticate), RFC 3261 §22.1/§22.3. */
export type ChallengeKind = 'www' | 'proxy';

export interface ChallengeResponse {
  readonly status: 401 | 407;
  readonly reason: string;
  /** One header per offered algorithm, strongest first (RFC 7616 §3.7). */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
}

/** Why a request was challenged; fed to logs and the failed-auth ban counters. */
export type ChallengeCause =
  | 'no-credentials'
  | 'bad-nonce'
  | 'stale-nonce'
  | 'unknown-user'
  | 'wrong-password'
  | 'replayed-nc'
  | 'unsupported';

export type AuthOutcome =
  | { readonly kind: 'ok'; readonly username: string; readonly realm: string; readonly algorithm: DigestAlgorithm }
  | { readonly kind: 'challenge'; readonly cause: ChallengeCause; readonly response: ChallengeResponse }
  | { readonly kind: 'bad-request'; readonly status: 400; readonly reason: string; readonly detail: string }
  | { readonly kind: 'unavailable'; readonly status: 503; readonly reason: string; readonly detail: string };

export interface DigestRequest {
  readonly method: string;
  /** Authorization (kind www) or Proxy-Authorization (kind proxy) header values, in order. */
  readonly credentials: readonly string[];
  /** Body bytes for qop=auth-int. */
  readonly body?: string | Buffer;
}

export interface DigestAuthenticatorOptions {
  readonly realm: string;
  /** Offered algorithms; challenged strongest first whatever the configured order. */
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonces: NonceService;
  readonly backend: CredentialBackend;
  /** Also offer qop=auth-int (body integrity). */
  readonly offerAuthInt?: boolean;
  /**
   * Nonce counts remembered per (nonce, cnonce) on this node to refuse a replayed nc; 0 disables.
   * Stateless across nodes by design: the nonce TTL bounds replay cluster-wide. Default 100 000.
   */
  readonly replayWindow?: number;
}

const STRENGTH: Record<DigestAlgorithm, number> = {
  'SHA-512-256': 6,
  'SHA-512-256-sess': 5,
  'SHA-256': 4,
  'SHA-256-sess': 3,
  MD5: 2,
  'MD5-sess': 1,
};

function hexEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  // Lengths are public (fixed per algorithm), so the early return leaks nothing secret.
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export class DigestAuthenticator {
  readonly realm: string;
  private readonly algorithms: readonly DigestAlgorithm[];
  /** "nonce\0cnonce" → highest nc accepted; insertion-ordered so the oldest is evicted first. */
  private readonly seenNc = new Map<string, number>();
  private readonly replayWindow: number;

  constructor(private readonly opts: DigestAuthenticatorOptions) {
    this.realm = opts.realm;
    this.algorithms = [...opts.algorithms].sort((a, b) => STRENGTH[b] - STRENGTH[a]);
    this.replayWindow = opts.replayWindow ?? 100_000;
  }

  /**
   * RFC 7616 §3.4 / RFC 2617 §3.2.2: the client increments nc for every request it sends with the
   * same nonce, so an nc that is not above the last accepted one is a replay.
   */
  private acceptNc(nonce: string, cnonce: string, ncHex: string): boolean {
    if (this.replayWindow <= 0) return true;
    const key = `${nonce}\u0000${cnonce}`;
    const nc = parseInt(ncHex, 16);
    const last = this.seenNc.get(key);
    if (last !== undefined && nc <= last) return false;
    if (last !== undefined) this.seenNc.delete(key);
    else if (this.seenNc.size >= this.replayWindow) {
      const oldest = this.seenNc.keys().next();
      if (!oldest.done) this.seenNc.delete(oldest.value);
    }
    this.seenNc.set(key, nc);
    return true;
  }

  /** Fresh challenge; `stale` tells the UA it may retry with the same password (RFC 7616 §3.3). */
  challenge(kind: ChallengeKind, nowMs: number, stale = false): ChallengeResponse {
    const nonce = this.opts.nonces.issue(nowMs);
    const qop = this.opts.offerAuthInt === true ? 'auth,auth-int' : 'auth';
    const name = kind === 'www' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const headers = this.algorithms.map((alg) => {
      let v = `Digest realm=${quote(this.realm)}, nonce=${quote(nonce)}, algorithm=${alg}, qop=${quote(qop)}`;
      if (stale) v += ', stale=true';
      return [name, v] as const;
    });
    return kind === 'www'
      ? { status: 401, reason: 'Unauthorized', headers }
      : { status: 407, reason: 'Proxy Authentication Required', headers };
  }

  async verify(kind: ChallengeKind, req: DigestRequest, nowMs: number): Promise<AuthOutcome> {
    const challenge = (cause: ChallengeCause, stale = false): AuthOutcome => ({
      kind: 'challenge',
      cause,
      response: this.challenge(kind, nowMs, stale),
    });
    if (req.credentials.length === 0) return challenge('no-credentials');

    // RFC 3261 §22.4: a UA may send one credential per realm; use the one for our realm.
    let creds: DigestCredentials | null = null;
    for (const raw of req.credentials) {
      let parsed: DigestCredentials;
      try {
        parsed = parseDigestCredentials(raw);
      } catch (err) {
        if (err instanceof DigestHeaderError) {
          if (err.code === 'not-digest') continue;
          return { kind: 'bad-request', status: 400, reason: 'Bad Request', detail: err.message };
        }
        throw err;
      }
      if (parsed.realm === this.realm) {
        creds = parsed;
        break;
      }
    }
    if (creds === null) return challenge('no-credentials');

    const algorithm = parseAlgorithm(creds.algorithm);
    if (algorithm === null || !this.algorithms.includes(algorithm) || creds.userhash) return challenge('unsupported');

    let qop: 'auth' | 'auth-int' | null = null;
    if (creds.qop !== null) {
      const q = creds.qop.toLowerCase();
      if (q === 'auth' || (q === 'auth-int' && this.opts.offerAuthInt === true)) qop = q;
      else return challenge('unsupported');
      // RFC 2617 §3.2.2: with qop, both cnonce and nc MUST be present.
      if (creds.cnonce === null || creds.nc === null) {
        return { kind: 'bad-request', status: 400, reason: 'Bad Request', detail: 'qop without nc/cnonce' };
      }
    } else if (isSessionAlgorithm(algorithm)) {
      return { kind: 'bad-request', status: 400, reason: 'Bad Request', detail: '-sess algorithm without qop' };
    }

    const nonceVerdict = this.opts.nonces.verify(creds.nonce, nowMs);
    if (nonceVerdict === 'invalid') return challenge('bad-nonce');

    let ha1: string | undefined;
    try {
      ha1 = await this.opts.backend.lookupHa1(creds.username, creds.realm, algorithm);
    } catch (err) {
      if (err instanceof CredentialBackendError) {
        return { kind: 'unavailable', status: 503, reason: 'Service Unavailable', detail: err.message };
      }
      throw err;
    }
    if (ha1 === undefined || ha1.length !== digestHexLength(algorithm)) return challenge('unknown-user');

    const expected = computeResponse({
      algorithm,
      ha1,
      nonce: creds.nonce,
      method: req.method,
      uri: creds.uri,
      qop,
      nc: creds.nc,
      cnonce: creds.cnonce,
      body: req.body,
    });
    if (!hexEqual(expected, creds.response)) return challenge('wrong-password');
    // Only a correct digest over an expired nonce earns stale=true, so the UA retries silently
    // instead of re-prompting; a wrong password never does.
    if (nonceVerdict === 'stale') return challenge('stale-nonce', true);
    if (qop !== null && creds.nc !== null && creds.cnonce !== null && !this.acceptNc(creds.nonce, creds.cnonce, creds.nc)) {
      return challenge('replayed-nc');
    }
    return { kind: 'ok', username: creds.username, realm: creds.realm, algorithm };
  }
}
