/** `auth.backend: static`: users listed in YAML with a password or a precomputed HA1. */
import { baseAlgorithm, computeHa1, digestHexLength, type DigestAlgorithm } from './digest-algorithm.js';
import type { CredentialBackend } from './credential-backend.js';

/** Shape of one `auth.users[]` entry (snake_case, as in config/sections/auth.ts). */
export interface StaticUserEntry {
  readonly username: string;
  readonly password: string | null;
  /** Precomputed hex HA1; 32 hex digits = MD5, 64 = SHA-256. */
  readonly ha1: string | null;
  /** Null = the default realm. */
  readonly realm: string | null;
}

interface StoredUser {
  readonly password: string | null;
  readonly ha1: string | null;
}

export class StaticCredentialBackend implements CredentialBackend {
  private readonly users = new Map<string, StoredUser>();
  /** HA1 derived from a configured password, per algorithm; the user list is fixed, so this is bounded. */
  private readonly derived = new Map<string, string>();

  constructor(entries: readonly StaticUserEntry[], defaultRealm: string) {
    for (const e of entries) {
      const realm = e.realm ?? defaultRealm;
      this.users.set(`${e.username}\u0000${realm}`, { password: e.password, ha1: e.ha1?.toLowerCase() ?? null });
    }
  }

  async lookupHa1(username: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const u = this.users.get(`${username}\u0000${realm}`);
    if (u === undefined) return undefined;
    if (u.password !== null) {
      const base = baseAlgorithm(algorithm);
      const key = `${username}\u0000${realm}\u0000${base}`;
      let ha1 = this.derived.get(key);
      if (ha1 === undefined) {
        ha1 = computeHa1(base, username, realm, u.password);
        this.derived.set(key, ha1);
      }
      return ha1;
    }
    // A precomputed HA1 only serves the algorithm it was hashed with (told apart by digest length).
    if (u.ha1 !== null && u.ha1.length === digestHexLength(algorithm)) return u.ha1;
    return undefined;
  }
}
