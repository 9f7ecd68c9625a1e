/**
 * Parser for the Digest credentials carried in Authorization / Proxy-Authorization
 * (RFC 3261 §25.1 `credentials`, RFC 2617 §3.2.2, RFC 7616 §3.4). Attacker-controlled input:
 * every malformation becomes a typed DigestHeaderError (mapped to 400 by the caller), never a crash.
 */

/** Hard cap so a hostile header cannot make the parser do unbounded work. */
const MAX_HEADER_LENGTH = 8192;

export type DigestHeaderErrorCode =
  | 'too-long'
  | 'not-digest'
  | 'syntax'
  | 'unterminated-quote'
  | 'duplicate-param'
  | 'missing-param'
  | 'bad-param-value';

export class DigestHeaderError extends Error {
  constructor(
    readonly code: DigestHeaderErrorCode,
    detail: string,
  ) {
    super(`invalid Digest credentials (${code}): ${detail}`);
    this.name = 'DigestHeaderError';
  }
}

/** The credential parameters the verifier needs; names lowercased, values unquoted and unescaped. */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: string | null;
  readonly qop: string | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
  readonly opaque: string | null;
  readonly userhash: boolean;
  /** Every parameter as received (lowercased names), including unknown extension params. */
  readonly params: ReadonlyMap<string, string>;
}

/** RFC 3261 §25.1 token characters, as a lookup table (this parser runs on every authenticated request). */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") TOKEN_CHAR[c.charCodeAt(0)] = 1;

function isTokenChar(code: number): boolean {
  return code < 128 && TOKEN_CHAR[code] === 1;
}

function isLws(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Splits `Digest k=v, k="v"` into its scheme and raw params (RFC 3261 §25.1 auth-param). */
export function parseAuthParams(value: string): { scheme: string; params: Map<string, string> } {
  if (value.length > MAX_HEADER_LENGTH) throw new DigestHeaderError('too-long', `${value.length} bytes`);
  let i = 0;
  const n = value.length;
  const skipLws = (): void => {
    while (i < n && isLws(value.charCodeAt(i))) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    return value.slice(start, i);
  };
  skipLws();
  const scheme = readToken();
  if (scheme === '') throw new DigestHeaderError('syntax', 'missing auth scheme');
  const params = new Map<string, string>();
  for (;;) {
    skipLws();
    // Tolerate empty list elements (`a=1,,b=2`) the way RFC 7230 #rule parsing allows.
    while (i < n && value[i] === ',') {
      i++;
      skipLws();
    }
    if (i >= n) break;
    const name = readToken().toLowerCase();
    if (name === '') throw new DigestHeaderError('syntax', `unexpected character at offset ${i}`);
    skipLws();
    if (value[i] !== '=') throw new DigestHeaderError('syntax', `parameter "${name}" has no value`);
    i++;
    skipLws();
    let paramValue: string;
    if (value[i] === '"') {
      i++;
      let out = '';
      let closed = false;
      while (i < n) {
        // Copy runs up to the next quote or backslash in one slice rather than char by char.
        let j = i;
        while (j < n) {
          const c = value.charCodeAt(j);
          if (c === 34 /* " */ || c === 92 /* \ */) break;
          j++;
        }
        out += value.slice(i, j);
        i = j;
        if (i >= n) break;
        if (value.charCodeAt(i) === 92) {
          // RFC 3261 §25.1 quoted-pair: the escaped character stands for itself.
          if (i + 1 >= n) {
            i = n;
            break;
          }
          out += value[i + 1];
          i += 2;
          continue;
        }
        closed = true;
        i++;
        break;
      }
      if (!closed) throw new DigestHeaderError('unterminated-quote', `parameter "${name}"`);
      paramValue = out;
    } else {
      paramValue = readToken();
      if (paramValue === '') throw new DigestHeaderError('syntax', `parameter "${name}" has an empty value`);
    }
    if (params.has(name)) throw new DigestHeaderError('duplicate-param', name);
    params.set(name, paramValue);
    skipLws();
    if (i < n && value[i] !== ',') throw new DigestHeaderError('syntax', `expected "," after parameter "${name}"`);
  }
  return { scheme, params };
}

function required(params: Map<string, string>, name: string): string {
  const v = params.get(name);
  if (v === undefined) throw new DigestHeaderError('missing-param', name);
  return v;
}

/** Parses one Authorization / Proxy-Authorization header value carrying Digest credentials. */
export function parseDigestCredentials(value: string): DigestCredentials {
  // The scheme first: another scheme's credentials (Basic/Bearer token68, RFC 7235 §2.1) need not
  // parse as auth-params; they are skipped so the UA is challenged for Digest (§22.4), not refused.
  const lead = /^\s*([^\s,=]+)(?:\s|$)/.exec(value);
  if (lead !== null && (lead[1] ?? '').toLowerCase() !== 'digest') throw new DigestHeaderError('not-digest', lead[1] ?? '');
  const { scheme, params } = parseAuthParams(value);
  if (scheme.toLowerCase() !== 'digest') throw new DigestHeaderError('not-digest', scheme);
  const nc = params.get('nc') ?? null;
  // RFC 2617 §3.2.2: nc is exactly 8 LHEX.
  if (nc !== null && !/^[0-9a-fA-F]{8}$/.test(nc)) throw new DigestHeaderError('bad-param-value', 'nc');
  const response = required(params, 'response');
  if (!/^[0-9a-fA-F]+$/.test(response)) throw new DigestHeaderError('bad-param-value', 'response');
  return {
    username: required(params, 'username'),
    realm: required(params, 'realm'),
    nonce: required(params, 'nonce'),
    uri: required(params, 'uri'),
    response: response.toLowerCase(),
    algorithm: params.get('algorithm') ?? null,
    qop: params.get('qop') ?? null,
    nc,
    cnonce: params.get('cnonce') ?? null,
    opaque: params.get('opaque') ?? null,
    userhash: (params.get('userhash') ?? 'false').toLowerCase() === 'true',
    params,
  };
}

/** RFC 3261 §25.1 quoted-string: backslash-escape `"` and `\`. */
export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
