/** Builds the authenticator from the `auth.*` config section (config/sections/auth.ts). */
import { DigestAuthenticator } from './digest-authenticator.js';
import type { CredentialBackend } from './credential-backend.js';
import type { DigestAlgorithm } from './digest-algorithm.js';
import { HttpCredentialBackend } from './http-backend.js';
import { NonceService } from './nonce.js';
import { StaticCredentialBackend, type StaticUserEntry } from './static-backend.js';

/** Structural copy of the `auth` config section, so this module does not depend on the loader. */
export interface AuthSection {
  readonly backend: 'static' | 'http';
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonce_secret: string | null;
  readonly nonce_ttl_secs: number;
  readonly users: readonly StaticUserEntry[];
  readonly http: { readonly url: string | null; readonly cache_ttl_secs: number; readonly timeout_ms: number };
}

export function createCredentialBackend(section: AuthSection, now?: () => number): CredentialBackend {
  if (section.backend === 'http') {
    if (section.http.url === null) throw new Error('auth.http.url is required when auth.backend is http');
    return new HttpCredentialBackend({
      url: section.http.url,
      cacheTtlSecs: section.http.cache_ttl_secs,
      timeoutMs: section.http.timeout_ms,
      now,
    });
  }
  return new StaticCredentialBackend(section.users, section.realm);
}

export function createAuthenticator(section: AuthSection, backend?: CredentialBackend): DigestAuthenticator {
  return new DigestAuthenticator({
    realm: section.realm,
    algorithms: section.algorithms.length > 0 ? section.algorithms : ['MD5'],
    nonces: new NonceService({ secret: section.nonce_secret, ttlSecs: section.nonce_ttl_secs }),
    backend: backend ?? createCredentialBackend(section),
  });
}
