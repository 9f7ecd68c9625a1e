/**
 * Header-name knowledge: compact forms (RFC 3261 §7.3.3 and the extensions that define them), the
 * canonical spelling used when we write a header ourselves, and which headers are comma-separated lists.
 */

/** Compact form → full name. */
const COMPACT: Record<string, string> = {
  i: 'Call-ID',
  m: 'Contact',
  e: 'Content-Encoding',
  l: 'Content-Length',
  c: 'Content-Type',
  f: 'From',
  s: 'Subject',
  k: 'Supported',
  t: 'To',
  v: 'Via',
  o: 'Event', // RFC 6665 §8.2.1
  u: 'Allow-Events', // RFC 6665 §8.2.2
  r: 'Refer-To', // RFC 3515 §2.1
  b: 'Referred-By', // RFC 3892 §7
  x: 'Session-Expires', // RFC 4028 §4
  y: 'Identity', // RFC 8224 §4.1
  a: 'Accept-Contact', // RFC 3841 §9.2
  j: 'Reject-Contact', // RFC 3841 §9.2
  d: 'Request-Disposition', // RFC 3841 §9.1
  n: 'Identity-Info', // RFC 4474 §9.2
};

const CANONICAL_LIST = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Accept-Resource-Priority', 'Alert-Info', 'Allow',
  'Allow-Events', 'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Event',
  'Expires', 'From', 'History-Info', 'Identity', 'Identity-Info', 'In-Reply-To', 'Max-Forwards', 'Min-Expires', 'Min-SE',
  'MIME-Version', 'Organization', 'P-Access-Network-Info', 'P-Asserted-Identity', 'P-Associated-URI',
  'P-Called-Party-ID', 'P-Charging-Vector', 'P-Charging-Function-Addresses', 'P-Preferred-Identity',
  'P-Visited-Network-ID', 'Path', 'Priority', 'Privacy', 'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require',
  'RAck', 'Reason', 'Record-Route', 'Refer-To', 'Referred-By', 'Reject-Contact', 'Replaces', 'Reply-To',
  'Request-Disposition', 'Require', 'Resource-Priority', 'Retry-After', 'Route', 'RSeq', 'Security-Client',
  'Security-Server', 'Security-Verify', 'Server', 'Service-Route', 'Session-Expires', 'SIP-ETag', 'SIP-If-Match',
  'Subject', 'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning',
  'WWW-Authenticate',
];

const CANONICAL = new Map<string, string>();
for (const n of CANONICAL_LIST) CANONICAL.set(n.toLowerCase(), n);

/**
 * Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so several values may share one
 * line. Authorization-style headers are deliberately absent: their commas separate auth-params.
 */
const LIST_HEADERS = new Set([
  'accept', 'accept-contact', 'accept-encoding', 'accept-language', 'accept-resource-priority', 'alert-info', 'allow',
  'allow-events', 'call-info', 'contact', 'content-encoding', 'content-language', 'error-info', 'history-info',
  'in-reply-to', 'p-asserted-identity', 'p-associated-uri', 'p-preferred-identity', 'p-visited-network-id', 'path',
  'proxy-require', 'reason', 'record-route', 'reject-contact', 'request-disposition', 'require', 'resource-priority',
  'route', 'security-client', 'security-server', 'security-verify', 'service-route', 'supported', 'unsupported', 'via',
  'warning',
]);

export interface HeaderName {
  /** lower-case full name, the lookup key */
  key: string;
  /** spelling used when the stack writes this header */
  canonical: string;
}

const cache = new Map<string, HeaderName>();
const CACHE_LIMIT = 2048;
/**
 * Longest name kept in the cache. Real header names are short; without this bound 2048 datagrams
 * each naming a unique 60 KB header pinned about 240 MB for the life of the process.
 */
const CACHED_NAME_MAX = 64;

/** Resolves a header name as written (any case, compact or full) to its key and canonical spelling. */
export function headerName(written: string): HeaderName {
  const hit = cache.get(written);
  if (hit !== undefined) return hit;
  const lower = written.toLowerCase();
  let full = lower.length === 1 ? COMPACT[lower] : undefined;
  const key = full !== undefined ? full.toLowerCase() : lower;
  if (full === undefined) full = CANONICAL.get(lower) ?? written;
  const hn: HeaderName = { key, canonical: full };
  // Bounded so a flood of random header names cannot grow memory.
  if (cache.size < CACHE_LIMIT && written.length <= CACHED_NAME_MAX) cache.set(written, hn);
  return hn;
}

/** How many written names the cache holds (for tests of its bounds). */
export function cachedHeaderNames(): number {
  return cache.size;
}

export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}

/**
 * Byte-level lookup of well-known header names, so the parser does not allocate a string per header
 * line for the names it sees all the time. Keyed by a case-folded hash, confirmed by a byte compare.
 */
interface KnownBytes {
  lower: Uint8Array;
  hn: HeaderName;
}

const byHash = new Map<number, KnownBytes[]>();

/**
 * One step of the case-folded hash of a name's bytes, starting from 0. Exported so the parser can
 * hash a name in the same pass that finds where it ends (the byte compare below confirms a hit, and
 * it checks the length).
 */
export function foldedHashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + (c >= 65 && c <= 90 ? c + 32 : c)) | 0;
}

function foldedHash(bytes: ArrayLike<number>, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = foldedHashStep(h, bytes[i]);
  return h;
}

function addKnown(written: string): void {
  const lower = Buffer.from(written.toLowerCase(), 'latin1');
  const h = foldedHash(lower, 0, lower.length);
  const list = byHash.get(h) ?? [];
  list.push({ lower, hn: headerName(written) });
  byHash.set(h, list);
}

for (const n of CANONICAL_LIST) addKnown(n);
for (const c of Object.keys(COMPACT)) addKnown(c);

/**
 * The HeaderName of a well-known header written in buf[start, end), or undefined for other names;
 * `hash` is those bytes folded through foldedHashStep.
 */
export function knownHeaderNameHashed(buf: Buffer, start: number, end: number, hash: number): HeaderName | undefined {
  const list = byHash.get(hash);
  if (list === undefined) return undefined;
  outer: for (const k of list) {
    if (k.lower.length !== end - start) continue;
    for (let i = 0; i < k.lower.length; i++) {
      const c = buf[start + i];
      if ((c >= 65 && c <= 90 ? c + 32 : c) !== k.lower[i]) continue outer;
    }
    return k.hn;
  }
  return undefined;
}
