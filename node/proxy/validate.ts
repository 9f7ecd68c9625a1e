// RFC 3261 §16.3: request validation before a proxy touches a request. Returns the response to
// send when the request must be rejected, or undefined to proceed.

import { loopHash, loopHashOfBranch } from './branch-id.js';
import type { IsOwnAddress } from './own-address.js';
import type { ParsedVia, ProxyRequestMessage } from './proxy-message.js';
import { parseViaValue, type ViaParts } from './via.js';

export interface Rejection {
  readonly status: number;
  readonly reason: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

export interface ValidationOptions {
  readonly isOwnAddress: IsOwnAddress;
  /** Option-tags this proxy supports in Proxy-Require (§16.3 item 5). */
  readonly supportedProxyRequire: ReadonlySet<string>;
}

const SCHEMES = new Set(['sip', 'sips', 'tel']);

export function validateRequest(req: ProxyRequestMessage, opts: ValidationOptions): Rejection | undefined {
  // §16.3 item 2: a URI scheme we cannot route → 416.
  const colon = req.uri.indexOf(':');
  if (colon <= 0 || !SCHEMES.has(req.uri.slice(0, colon).toLowerCase())) {
    return { status: 416, reason: 'Unsupported URI Scheme' };
  }
  // §16.3 item 3: Max-Forwards 0 → 483 (OPTIONS to us is answered by the core before this).
  const mf = req.headers.get('Max-Forwards');
  if (mf !== undefined) {
    const n = /^\s*(\d{1,10})\s*$/.exec(mf);
    if (!n) return { status: 400, reason: 'Bad Max-Forwards' };
    if (Number(n[1]) === 0 && req.method !== 'ACK') return { status: 483, reason: 'Too Many Hops' };
  }
  // §16.3 item 4: a Via of ours whose branch hash matches this request as it arrives now is a loop.
  // Every Via counts: the topmost is ours when we sent the request to ourselves.
  let hash: string | undefined;
  const isLoop = (via: ViaParts | ParsedVia | undefined): boolean => {
    const ours = ownBranchHash(via, opts.isOwnAddress);
    if (ours === undefined) return false;
    hash ??= loopHash(req);
    return ours === hash;
  };
  const parsed = parsedVias(req);
  const looped = parsed !== undefined
    ? parsed.some((v) => isLoop(sipVia(v)))
    : req.headers.getAll('Via').some((v) => isLoop(parseViaValue(v)));
  if (looped) return { status: 482, reason: 'Loop Detected' };
  // §16.3 item 5: every Proxy-Require option-tag must be supported → else 420 + Unsupported.
  const unsupported = req.headers.getAll('Proxy-Require').map((t) => t.trim())
    .filter((t) => t !== '' && !opts.supportedProxyRequire.has(t.toLowerCase()));
  if (unsupported.length > 0) {
    return { status: 420, reason: 'Bad Extension', headers: [['Unsupported', unsupported.join(', ')]] };
  }
  return undefined;
}

/** The message's own parse of its Vias, or undefined when it has none (or one is malformed: judged value by value). */
function parsedVias(req: ProxyRequestMessage): readonly ParsedVia[] | undefined {
  if (req.vias === undefined) return undefined;
  try {
    return req.vias();
  } catch {
    return undefined;
  }
}

/** A parsed Via as parseViaValue would give it: SIP/2.0 only. */
function sipVia(via: ParsedVia): ParsedVia | undefined {
  return via.protocol.toUpperCase() === 'SIP/2.0' ? via : undefined;
}

/** The loop hash in the branch of a Via we sent (sent-by is ours, branch in our format), else undefined. */
function ownBranchHash(via: ViaParts | ParsedVia | undefined, isOwnAddress: IsOwnAddress): string | undefined {
  if (via === undefined || !via.branch || !isOwnAddress(via.host.toLowerCase(), via.port ?? 5060)) return undefined;
  return loopHashOfBranch(via.branch);
}
