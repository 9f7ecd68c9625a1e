/**
 * Where HA1 values come from. The verifier only ever sees H(username:realm:password), so a
 * backend may store plain passwords (static config) or precomputed HA1s (REST service).
 */
import type { DigestAlgorithm } from './digest-algorithm.js';

export interface CredentialBackend {
  /**
   * HA1 (lowercase hex) for this user in this realm, hashed with the base of `algorithm`;
   * undefined when the user is unknown. Throws CredentialBackendError when the store is unreachable.
   */
  lookupHa1(username: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined>;
}

export class CredentialBackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialBackendError';
  }
}
