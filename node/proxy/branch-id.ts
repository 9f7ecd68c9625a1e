// RFC 3261 §16.6 item 8 / §16.3 item 4: the branch we put in our Via carries a hash of the fields
// that identify "the same request arriving again", so a request that comes back with our Via and
// the same hash is a loop (482), while one retargeted in between is a spiral and proceeds.
// The hash is taken over the request as received (before §16.4 Route processing), and leaves out
// the topmost Via and Route: a looped request arrives from a different previous hop with a
// different Route set, and including them would hide every loop.

import { createHash } from 'node:crypto';
import type { ProxyRequestMessage } from './proxy-message.js';
import { tagOf } from './uri-parts.js';

/** RFC 3261 §8.1.1.7 magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';
const LOOP_HASH_LEN = 10;

export function loopHash(req: ProxyRequestMessage): string {
  const h = req.headers;
  const cseq = (h.get('CSeq') ?? '').trim().split(/\s+/)[0] ?? '';
  const parts = [
    req.uri, tagOf(h.get('From')), tagOf(h.get('To')), h.get('Call-ID') ?? '', cseq,
    h.getAll('Proxy-Require').join(','), h.getAll('Proxy-Authorization').join(','),
  ];
  return createHash('md5').update(parts.join('\u0001')).digest('hex').slice(0, LOOP_HASH_LEN);
}

/** A new branch: cookie + loop hash + '.' + a per-proxy unique suffix. */
export function makeBranch(hash: string, unique: string): string {
  return `${MAGIC_COOKIE}${hash}.${unique}`;
}

/** The loop hash inside one of our branches, or undefined when the branch is not in our format. */
export function loopHashOfBranch(branch: string): string | undefined {
  if (!branch.startsWith(MAGIC_COOKIE)) return undefined;
  const dot = branch.indexOf('.', MAGIC_COOKIE.length);
  if (dot !== MAGIC_COOKIE.length + LOOP_HASH_LEN) return undefined;
  return branch.slice(MAGIC_COOKIE.length, dot);
}
