/**
 * Via header values (RFC 3261 §20.42, §25.1): sent-protocol SP sent-by *( SEMI via-params ), with LWS
 * allowed around the `/` separators. branch/received/rport (RFC 3581) are read through accessors so they
 * always reflect the params map.
 */
import { badRequest } from './errors.js';
import { Params, formatParams, parseParamsAt } from './params.js';
import { isTokenChar, skipWs } from './syntax.js';

/** RFC 3261 §8.1.1.7: branches starting with this cookie are unique per transaction. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

export class Via {
  protocol: string;
  transport: string;
  host: string;
  port?: number;
  params: Params;

  constructor(transport: string, host: string, port?: number, params: Params = new Map(), protocol = 'SIP/2.0') {
    this.protocol = protocol;
    this.transport = transport;
    this.host = host;
    if (port !== undefined) this.port = port;
    this.params = params;
  }

  get branch(): string | undefined {
    return this.params.get('branch') ?? undefined;
  }

  get received(): string | undefined {
    return this.params.get('received') ?? undefined;
  }

  /** RFC 3581: null when present without value (a request asking for it), a number when filled in. */
  get rport(): number | null | undefined {
    if (!this.params.has('rport')) return undefined;
    const v = this.params.get('rport');
    return v === null || v === undefined ? null : Number(v);
  }

  get maddr(): string | undefined {
    return this.params.get('maddr') ?? undefined;
  }

  /** True when the branch carries the RFC 3261 magic cookie (otherwise RFC 2543 matching applies, §17.2.3). */
  get hasRfc3261Branch(): boolean {
    const b = this.branch;
    return b !== undefined && b.startsWith(BRANCH_MAGIC_COOKIE);
  }
}

/** Transport tokens as one shared upper-case string each (a transaction keeps its Via's for 64·T1). */
const TRANSPORTS = new Map(['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'].flatMap((t) => [[t, t], [t.toLowerCase(), t]]));

function readToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/** The token at `i` (its end index); an empty one is a malformed sent-protocol. */
function sentProtocolToken(s: string, i: number): number {
  const end = readToken(s, i);
  if (end === i) throw badRequest('Malformed Via sent-protocol');
  return end;
}

/** The SLASH between sent-protocol tokens, LWS allowed around it; returns the index after it. */
function skipSlash(s: string, i: number): number {
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 47) throw badRequest('Malformed Via sent-protocol');
  return skipWs(s, i + 1);
}

export function parseVia(text: string): Via {
  const s = text;
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport
  const nameStart = skipWs(s, 0);
  const nameEnd = sentProtocolToken(s, nameStart);
  const versionStart = skipSlash(s, nameEnd);
  const versionEnd = sentProtocolToken(s, versionStart);
  const transportStart = skipSlash(s, versionEnd);
  let i = sentProtocolToken(s, transportStart);
  const transport = s.slice(transportStart, i);
  // Written without LWS (the usual "SIP/2.0") it is one slice, else it is rebuilt without the LWS.
  const protocol = versionStart === nameEnd + 1 ? s.slice(nameStart, versionEnd)
    : `${s.slice(nameStart, nameEnd)}/${s.slice(versionStart, versionEnd)}`;
  const j = skipWs(s, i);
  if (j === i) throw badRequest('Malformed Via: missing sent-by');
  i = j;
  let host: string;
  const hs = i;
  if (s.charCodeAt(i) === 91) {
    const close = s.indexOf(']', i);
    if (close < 0) throw badRequest('Malformed IPv6 reference in Via');
    i = close + 1;
  } else {
    while (i < s.length) {
      const c = s.charCodeAt(i);
      const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95;
      if (!ok) break;
      i++;
    }
  }
  host = s.slice(hs, i);
  if (host.length === 0) throw badRequest('Malformed Via: missing host');
  let port: number | undefined;
  const k = skipWs(s, i);
  if (s.charCodeAt(k) === 58) {
    i = skipWs(s, k + 1);
    const ps = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    port = Number(s.slice(ps, i));
    // Port 0 addresses nothing: a response sent along this Via (§18.2.2) could not leave the node.
    if (i === ps || i - ps > 5 || port > 65535 || port === 0) throw badRequest('Malformed Via port');
  }
  const params: Params = new Map();
  i = parseParamsAt(s, i, params);
  if (skipWs(s, i) !== s.length) throw badRequest('Malformed Via');
  return new Via(TRANSPORTS.get(transport) ?? transport.toUpperCase(), host, port, params, protocol);
}

export function formatVia(v: Via): string {
  const port = v.port !== undefined ? `:${v.port}` : '';
  return `${v.protocol}/${v.transport} ${v.host}${port}${formatParams(v.params)}`;
}
