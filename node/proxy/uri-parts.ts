// The few URI facts routing needs (RFC 3261 §19.1.1, §20.10 name-addr): host, port, transport
// and lr parameters. Parsing is lenient and never throws: a value we cannot read yields
// undefined and the caller answers 400/416 instead of crashing.

export interface SipUriParts {
  readonly scheme: string;
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  /** URI parameters, names lowercased; a flag parameter maps to ''. */
  readonly params: ReadonlyMap<string, string>;
}

/** Strips a name-addr down to its URI: `"Bob" <sip:b@h;lr>;tag=1` → `sip:b@h;lr`. */
export function uriOfNameAddr(value: string): string {
  const lt = value.indexOf('<');
  if (lt >= 0) {
    const gt = value.indexOf('>', lt + 1);
    return (gt > lt ? value.slice(lt + 1, gt) : value.slice(lt + 1)).trim();
  }
  // addr-spec form: header parameters follow the first ';' after the URI (§20.10 forbids ';' in it)
  const semi = value.indexOf(';');
  return (semi >= 0 ? value.slice(0, semi) : value).trim();
}

/** The `tag` header parameter of a From/To value ('' when absent). */
export function tagOf(value: string | undefined): string {
  if (value === undefined) return '';
  const gt = value.lastIndexOf('>');
  const tail = gt >= 0 ? value.slice(gt + 1) : value.slice(value.indexOf(';') >= 0 ? value.indexOf(';') : value.length);
  const m = /;\s*tag\s*=\s*([^;\s,]+)/i.exec(tail);
  return m ? m[1] : '';
}

export function parseSipUri(uri: string): SipUriParts | undefined {
  const colon = uri.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  let rest = uri.slice(colon + 1);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  const at = rest.lastIndexOf('@', rest.indexOf(';') >= 0 ? rest.indexOf(';') : rest.length);
  const user = at >= 0 ? rest.slice(0, at) : undefined;
  rest = at >= 0 ? rest.slice(at + 1) : rest;
  const [hostport, ...paramParts] = rest.split(';');
  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return undefined;
    host = hostport.slice(0, close + 1).toLowerCase();
    const after = hostport.slice(close + 1);
    portText = after.startsWith(':') ? after.slice(1) : undefined;
  } else {
    const c = hostport.indexOf(':');
    host = (c >= 0 ? hostport.slice(0, c) : hostport).toLowerCase();
    portText = c >= 0 ? hostport.slice(c + 1) : undefined;
  }
  if (host === '') return undefined;
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port > 65535) return undefined;
  }
  const params = new Map<string, string>();
  for (const p of paramParts) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    params.set((eq >= 0 ? p.slice(0, eq) : p).trim().toLowerCase(), eq >= 0 ? p.slice(eq + 1).trim() : '');
  }
  return { scheme, user, host, port, params };
}

/** Default port by scheme/transport (§19.1.2, §18.2: 5060, or 5061 for sips/TLS). */
export function defaultPort(u: SipUriParts): number {
  const t = (u.params.get('transport') ?? '').toLowerCase();
  return u.scheme === 'sips' || t === 'tls' || t === 'wss' ? 5061 : 5060;
}

export function uriTransport(u: SipUriParts): string {
  const t = u.params.get('transport');
  if (t) return t.toUpperCase();
  return u.scheme === 'sips' ? 'TLS' : 'UDP';
}
