// A plain in-memory SIP message model satisfying the proxy's message port, and a recording fake
// of the transaction layer. The proxy's own logic is what is under test; node/sip and
// node/transaction have their own suites.
import type {
  NextHop, ProxyHeaders, ProxyMessageFactory, ProxyRequestMessage, ProxyResponseMessage, ProxyTransactionPort,
} from '../../../node/proxy/index.js';

const COMPACT: Record<string, string> = { v: 'via', i: 'call-id', f: 'from', t: 'to', m: 'contact', l: 'content-length' };
const LIST = new Set(['via', 'route', 'record-route', 'proxy-require', 'contact', 'unsupported', 'require', 'supported']);
const key = (n: string): string => COMPACT[n.toLowerCase()] ?? n.toLowerCase();

function splitList(v: string): string[] {
  const out: string[] = [];
  let depth = 0; let q = false; let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"') q = !q;
    else if (!q && c === '<') depth++;
    else if (!q && c === '>') depth--;
    else if (!q && depth === 0 && c === ',') { out.push(v.slice(start, i).trim()); start = i + 1; }
  }
  out.push(v.slice(start).trim());
  return out.filter((s) => s !== '');
}

export class FakeHeaders implements ProxyHeaders {
  constructor(public fields: Array<[string, string]> = []) {}
  private values(name: string, value: string): Array<[string, string]> {
    return LIST.has(key(name)) ? splitList(value).map((v) => [name, v]) : [[name, value]];
  }
  get(name: string): string | undefined { return this.fields.find(([n]) => key(n) === key(name))?.[1]; }
  getAll(name: string): string[] { return this.fields.filter(([n]) => key(n) === key(name)).map(([, v]) => v); }
  set(name: string, value: string): void {
    const i = this.fields.findIndex(([n]) => key(n) === key(name));
    this.remove(name);
    this.fields.splice(i < 0 ? this.fields.length : i, 0, [name, value]);
  }
  prepend(name: string, value: string): void {
    const i = this.fields.findIndex(([n]) => key(n) === key(name));
    this.fields.splice(i < 0 ? 0 : i, 0, ...this.values(name, value));
  }
  append(name: string, value: string): void {
    let i = -1;
    this.fields.forEach(([n], j) => { if (key(n) === key(name)) i = j; });
    this.fields.splice(i < 0 ? this.fields.length : i + 1, 0, ...this.values(name, value));
  }
  remove(name: string): void { this.fields = this.fields.filter(([n]) => key(n) !== key(name)); }
  removeFirstValue(name: string): void {
    const i = this.fields.findIndex(([n]) => key(n) === key(name));
    if (i >= 0) this.fields.splice(i, 1);
  }
}

export class FakeRequest implements ProxyRequestMessage {
  constructor(public method: string, public uri: string, public headers: FakeHeaders) {}
}

export class FakeResponse implements ProxyResponseMessage {
  constructor(public status: number, public reason: string, public headers: FakeHeaders) {}
}

function parseHeaders(lines: string[]): FakeHeaders {
  const h = new FakeHeaders();
  for (const l of lines) {
    const c = l.indexOf(':');
    h.append(l.slice(0, c).trim(), l.slice(c + 1).trim());
  }
  return h;
}

/** `request('INVITE sip:bob@example.com', 'Via: ...', ...)`. */
export function request(startLine: string, ...headerLines: string[]): FakeRequest {
  const [method, uri] = startLine.split(' ');
  return new FakeRequest(method, uri, parseHeaders(headerLines));
}

let tagSeq = 0;
export const factory: ProxyMessageFactory = {
  response(req, status, reason, extra) {
    const h = new FakeHeaders();
    for (const v of req.headers.getAll('Via')) h.append('Via', v);
    for (const n of ['From', 'To', 'Call-ID', 'CSeq']) {
      const v = req.headers.get(n);
      if (v !== undefined) h.append(n, n === 'To' && status > 100 && !/;tag=/.test(v) ? `${v};tag=px${++tagSeq}` : v);
    }
    for (const [n, v] of extra ?? []) h.append(n, v);
    return new FakeResponse(status, reason, h);
  },
  copy(req) {
    const r = req as FakeRequest;
    return new FakeRequest(r.method, r.uri, new FakeHeaders(r.headers.fields.map(([n, v]) => [n, v])));
  },
  request(method, uri, headers) {
    return new FakeRequest(method, uri, new FakeHeaders(headers.map(([n, v]) => [n, v])));
  },
};

/** The response a downstream UAS would send to a forwarded request (Via stack echoed). */
export function answer(forwarded: ProxyRequestMessage, status: number, opts: { toTag?: string; headers?: Array<[string, string]> } = {}): FakeResponse {
  const res = factory.response(forwarded, status, 'X') as FakeResponse;
  if (opts.toTag !== undefined) res.headers.set('To', `${forwarded.headers.get('To')};tag=${opts.toTag}`);
  for (const [n, v] of opts.headers ?? []) res.headers.append(n, v);
  return res;
}

export interface SentRequest { tx: number; request: FakeRequest; dest: NextHop }

export class FakeTransactions implements ProxyTransactionPort<string, number> {
  sent: SentRequest[] = [];
  responses: Array<{ serverTx: string; response: FakeResponse }> = [];
  stateless: Array<{ request: FakeRequest; dest: NextHop }> = [];
  statelessResponses: FakeResponse[] = [];
  cancelTargets = new Map<string, string>();
  failSends = false;
  private seq = 0;
  sendRequest(request: ProxyRequestMessage, dest: NextHop): number | undefined {
    if (this.failSends) return undefined;
    const tx = ++this.seq;
    this.sent.push({ tx, request: request as FakeRequest, dest });
    return tx;
  }
  respond(serverTx: string, response: ProxyResponseMessage): void {
    this.responses.push({ serverTx, response: response as FakeResponse });
  }
  sendStateless(request: ProxyRequestMessage, dest: NextHop): void {
    this.stateless.push({ request: request as FakeRequest, dest });
  }
  forwardResponseStateless(response: ProxyResponseMessage): void {
    this.statelessResponses.push(response as FakeResponse);
  }
  cancelTarget(cancel: ProxyRequestMessage): string | undefined {
    return this.cancelTargets.get(cancel.headers.get('Call-ID') ?? '');
  }
  /** Requests of one method sent downstream. */
  method(m: string): SentRequest[] { return this.sent.filter((s) => s.request.method === m); }
  /** Statuses sent upstream on a server transaction. */
  statuses(serverTx: string): number[] { return this.responses.filter((r) => r.serverTx === serverTx).map((r) => r.response.status); }
}
