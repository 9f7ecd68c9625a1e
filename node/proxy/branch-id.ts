// RFC 3261 §16.6 item 8 / §16.3 item 4: the branch we put in our Via carries a hash of the fields
// that identify "the same request arriving again", so a request that comes back with our Via and
// the same hash is a loop (482), while one retargeted in between is a spiral and proceeds.
// The hash is taken over the request as received (before §16.4 Route processing), and leaves out
// the topmost Via and Route: a looped request arrives from a different previous hop with a
// different Route set, and including them would hide every loop.
// §16.6 item 8 only asks that the value identify those fields; it is no security boundary (a false
// match needs our own branch in the request already), so a fast non-cryptographic 2×32-bit hash
// replaces md5: it runs for every request the proxy handles.

import type { ProxyRequestMessage } from './proxy-message.js';
import { tagOf } from './uri-parts.js';

/** RFC 3261 §8.1.1.7 magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';
const LOOP_HASH_LEN = 10;

/** The CSeq sequence number as written (first whitespace-delimited token). */
function cseqNumber(value: string | undefined): string {
  if (value === undefined) return '';
  const v = value.trim();
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) return v.slice(0, i);
  }
  return v;
}

const HEX_DIGITS = '0123456789abcdef';

/** Two 32-bit FNV-1a lanes (different offset bases, the second also mixing the position). */
class LoopHasher {
  private a = 0x811c9dc5;
  private b = 0x050c5d1f;
  private n = 0;

  add(s: string): void {
    let a = this.a;
    let b = this.b;
    let n = this.n;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ (c + n++), 0x01000193) ^ (b >>> 15);
    }
    // field separator, so ("ab","c") and ("a","bc") differ
    a = Math.imul(a ^ 0x1f, 0x01000193);
    b = Math.imul(b ^ 0x1f, 0x01000193);
    this.a = a;
    this.b = b;
    this.n = n + 1;
  }

  /** The first `len` (≤ 16) hex digits of a·b, high nibble first. */
  hex(len: number): string {
    let out = '';
    for (let i = 0; i < len; i++) {
      const word = i < 8 ? this.a : this.b;
      out += HEX_DIGITS[(word >>> (28 - 4 * (i & 7))) & 0xf];
    }
    return out;
  }
}

export function loopHash(req: ProxyRequestMessage): string {
  const h = req.headers;
  const hasher = new LoopHasher();
  hasher.add(req.uri);
  hasher.add(tagOf(h.get('From')));
  hasher.add(tagOf(h.get('To')));
  hasher.add(h.get('Call-ID') ?? '');
  hasher.add(cseqNumber(h.get('CSeq')));
  // Usually absent: skip the array work then.
  const pr = h.getAll('Proxy-Require');
  hasher.add(pr.length === 0 ? '' : pr.join(','));
  const pa = h.getAll('Proxy-Authorization');
  hasher.add(pa.length === 0 ? '' : pa.join(','));
  return hasher.hex(LOOP_HASH_LEN);
}

const SUFFIX_LEN = 16;

/**
 * The unique part of the branch we give the copy of `received` forwarded to `targetUri` as the
 * `index`-th branch of its response context. §16.6 item 8 asks for a branch unique per forwarded
 * request; §16.11 asks a stateless proxy for the same branch every time the same request arrives.
 * Both hold when the value is a function of the upstream transaction (its top Via branch and
 * sent-by, §17.2.3: globally unique with the magic cookie), the target and the branch index:
 * - a retransmitted ACK or CANCEL forwarded statelessly keeps its branch;
 * - a CANCEL that finds no response context (another node forwarded the INVITE, or this one lost
 *   its state) gets the branch the INVITE got when it was relayed to the same target, so the next
 *   hop matches it to that INVITE (§9.2) — the CANCEL carries the INVITE's top Via branch (§9.1);
 * - two branches of one fork, or a re-fork to the same target, differ by index.
 * Without a branch (RFC 2543) the whole top Via value stands for the transaction; the loop hash in
 * front of the suffix already carries Call-ID, tags and CSeq number.
 */
export function branchSuffix(received: ProxyRequestMessage, targetUri: string, index: number): string {
  const top = received.headers.get('Via') ?? '';
  const hasher = new LoopHasher();
  const branch = branchParamOf(top);
  if (branch !== undefined) {
    // sent-protocol and sent-by: everything before the first parameter (received/rport stamps,
    // which differ between a UAC's INVITE and a CANCEL arriving another way, come after it).
    const semi = top.indexOf(';');
    hasher.add(branch);
    hasher.add((semi < 0 ? top : top.slice(0, semi)).trim());
  } else {
    hasher.add(top);
  }
  hasher.add(targetUri);
  hasher.add(String(index));
  return hasher.hex(SUFFIX_LEN);
}

/**
 * The §17.2.3 identity of the upstream transaction `received` belongs to: top Via branch, sent-by
 * and method (ACK and CANCEL aside, which the caller never asks about). Undefined without an
 * RFC 3261 branch: RFC 2543 matching needs the whole request, and such a request gets none of
 * the late-retransmission handling that hangs on this key.
 */
export function upstreamTransactionKey(received: ProxyRequestMessage): string | undefined {
  const top = received.headers.get('Via');
  if (top === undefined) return undefined;
  const branch = branchParamOf(top);
  if (branch === undefined || !branch.startsWith(MAGIC_COOKIE)) return undefined;
  const semi = top.indexOf(';');
  return `${branch}\n${top.slice(0, semi).trim().toLowerCase()}\n${received.method}`;
}

/** The `branch` parameter of a Via value, or undefined (a scan, not a parse: it runs per forwarded request). */
export function branchParamOf(via: string): string | undefined {
  let at = via.indexOf(';branch=');
  if (at < 0) {
    at = via.toLowerCase().indexOf(';branch=');
    if (at < 0) return undefined; // RFC 2543, or spaces around '=': the whole value is hashed instead
  }
  const start = at + ';branch='.length;
  let end = start;
  while (end < via.length) {
    const c = via.charCodeAt(end);
    if (c === 0x3b || c === 0x2c || c === 0x20 || c === 0x09) break; // ; , SP HTAB
    end++;
  }
  return end > start ? via.slice(start, end) : undefined;
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
