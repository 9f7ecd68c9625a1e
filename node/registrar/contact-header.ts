/**
 * Contact header parsing for REGISTER (RFC 3261 §20.10, §10.2.1) with the registrar extensions:
 * RFC 3840 feature tags kept verbatim, `+sip.instance` (RFC 5627) and `reg-id` (RFC 5626 §4.2).
 * Malformed input raises ContactParseError (→ 400), never an exception of another type.
 */
import { contactKeyOfParts, parseSipUri } from './aor.js';

export class ContactParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContactParseError';
  }
}

export interface ContactSpec {
  readonly uri: string;
  /** Header parameters except q and expires; names lowercased, values verbatim (quotes kept). */
  readonly params: ReadonlyArray<readonly [string, string | null]>;
  readonly q: number | null;
  readonly expires: number | null;
  /** `+sip.instance` value without the surrounding double quotes, e.g. `<urn:uuid:...>`. */
  readonly instance: string | null;
  readonly regId: number | null;
  /** URI comparison key (RFC 3261 §19.1.4, see contactUriKey). */
  readonly uriKey: string;
}

export type ContactList = { readonly wildcard: true } | { readonly wildcard: false; readonly contacts: readonly ContactSpec[] };

/** RFC 3261 §20.19 delta-seconds are 32-bit; larger values are clamped rather than rejected. */
export const MAX_DELTA_SECONDS = 2 ** 32 - 1;
const MAX_CONTACTS_PER_REQUEST = 256;
/** RFC 3986 absolute URI shape: scheme ":" then at least one non-space character, bounded length. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]{1,2048}$/;

/** Splits a header value on commas that are outside quotes and angle brackets. */
export function splitHeaderList(value: string): string[] {
  // One value without quotes (the usual Contact): nothing to split or to check.
  if (value.indexOf(',') < 0 && value.indexOf('"') < 0) {
    const only = value.trim();
    return only === '' ? [] : [only];
  }
  const out: string[] = [];
  let depth = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') inQuote = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  if (inQuote) throw new ContactParseError('unterminated quoted string');
  out.push(value.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** Every element of several header lines, in order (a loop: Array#flatMap is far slower in V8). */
export function splitHeaderLists(values: readonly string[]): string[] {
  if (values.length === 1) return splitHeaderList(values[0]);
  const out: string[] = [];
  for (const v of values) for (const item of splitHeaderList(v)) out.push(item);
  return out;
}

/** RFC 3261 §25.1 token characters: alphanumerics and `-.!%*_+\`'~`. */
function isTokenChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)
    || c === 45 || c === 46 || c === 33 || c === 37 || c === 42 || c === 95 || c === 43 || c === 96 || c === 39 || c === 126;
}

/** gen-value characters: token, host or IPv6 reference (`:` `[` `]`). */
function isValueChar(c: number): boolean {
  return isTokenChar(c) || c === 58 || c === 91 || c === 93;
}

function skipBlanks(text: string, i: number): number {
  while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  return i;
}

/** `;name=value;flag` header parameters following a name-addr / addr-spec. */
function parseHeaderParams(text: string): Array<[string, string | null]> {
  const params: Array<[string, string | null]> = [];
  let i = 0;
  while (i < text.length) {
    i = skipBlanks(text, i);
    if (i >= text.length) break;
    if (text.charCodeAt(i) !== 59) throw new ContactParseError(`unexpected "${text[i]}" in Contact parameters`);
    i = skipBlanks(text, i + 1);
    const nameStart = i;
    while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    if (name === '') throw new ContactParseError('empty Contact parameter name');
    i = skipBlanks(text, i);
    if (text.charCodeAt(i) !== 61) {
      params.push([name, null]);
      continue;
    }
    i = skipBlanks(text, i + 1);
    let value: string;
    if (text.charCodeAt(i) === 34) {
      const start = i;
      i++;
      while (i < text.length && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      if (i >= text.length) throw new ContactParseError(`unterminated quoted value for "${name}"`);
      i++;
      value = text.slice(start, i);
    } else {
      const start = i;
      while (i < text.length && isValueChar(text.charCodeAt(i))) i++;
      value = text.slice(start, i);
      if (value === '') throw new ContactParseError(`empty value for "${name}"`);
    }
    params.push([name, value]);
  }
  return params;
}

function namedBefore(params: ReadonlyArray<readonly [string, string | null]>, k: number, name: string): boolean {
  for (let j = 0; j < k; j++) if (params[j][0] === name) return true;
  return false;
}

function parseQ(v: string | null): number {
  // RFC 3261 §25.1 qvalue: ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (v === null || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) throw new ContactParseError(`invalid q "${v ?? ''}"`);
  return Number(v);
}

export function parseDeltaSeconds(v: string | null, what: string): number {
  if (v === null || !/^\d{1,20}$/.test(v.trim())) throw new ContactParseError(`invalid ${what} "${v ?? ''}"`);
  return Math.min(Number(v.trim()), MAX_DELTA_SECONDS);
}

function parseOne(text: string): ContactSpec {
  let uri: string;
  let rest: string;
  const lt = text.indexOf('<');
  if (lt >= 0) {
    const display = text.slice(0, lt).trim();
    if (display !== '' && !/^("([^"\\]|\\.)*"|[A-Za-z0-9\-.!%*_+`'~ \t]+)$/.test(display)) {
      throw new ContactParseError('malformed display name');
    }
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw new ContactParseError('missing ">" in Contact');
    uri = text.slice(lt + 1, gt).trim();
    rest = text.slice(gt + 1);
  } else {
    const semi = text.indexOf(';');
    uri = (semi >= 0 ? text.slice(0, semi) : text).trim();
    rest = semi >= 0 ? text.slice(semi) : '';
  }
  const parts = parseSipUri(uri);
  let uriKey: string;
  if (parts !== null) {
    uriKey = contactKeyOfParts(parts);
    // Usually the URI as written is its own key (lower-case host, parameters in order): the
    // binding then keeps that one flat string for both, not a slice pinning the Contact value.
    if (uriKey === uri) uri = uriKey;
  }
  else if (/^(sips?):/i.test(uri) || !ABSOLUTE_URI.test(uri)) {
    throw new ContactParseError(`invalid Contact URI "${uri.slice(0, 80)}"`);
  } else {
    // RFC 3261 §10.2.1: other schemes (tel:, mailto:, …) may be registered; compared verbatim
    // apart from the case-insensitive scheme.
    const colon = uri.indexOf(':');
    uriKey = `${uri.slice(0, colon).toLowerCase()}${uri.slice(colon)}`;
  }
  let q: number | null = null;
  let expires: number | null = null;
  let instance: string | null = null;
  let regId: number | null = null;
  const all = parseHeaderParams(rest);
  const params: Array<[string, string | null]> = [];
  // Usually a handful of parameters: scanning those before beats a Set per Contact, which only a
  // long (hostile) list gets, so the check stays linear.
  const seen = all.length > 8 ? new Set<string>() : null;
  for (let k = 0; k < all.length; k++) {
    const [name, value] = all[k];
    if (seen !== null ? seen.has(name) : namedBefore(all, k, name)) {
      throw new ContactParseError(`duplicate Contact parameter "${name}"`);
    }
    seen?.add(name);
    if (name === 'q') q = parseQ(value);
    else if (name === 'expires') expires = parseDeltaSeconds(value, 'expires');
    else {
      if (name === '+sip.instance') {
        if (value === null || !/^"<[^"]+>"$/.test(value)) throw new ContactParseError('invalid +sip.instance');
        instance = value.slice(1, -1);
      } else if (name === 'reg-id') {
        // RFC 5626 §4.2: reg-id is 1 to 2^31-1.
        if (value === null || !/^[1-9]\d{0,9}$/.test(value) || Number(value) > 2 ** 31 - 1) {
          throw new ContactParseError('invalid reg-id');
        }
        regId = Number(value);
      }
      params.push([name, value]);
    }
  }
  return { uri, params, q, expires, instance, regId, uriKey };
}

/** Parses every Contact header value of a REGISTER; `*` must stand alone (checked by the caller). */
export function parseContacts(values: readonly string[]): ContactList & { readonly count: number } {
  const items = splitHeaderLists(values);
  if (items.length > MAX_CONTACTS_PER_REQUEST) throw new ContactParseError('too many Contact values');
  if (items.some((i) => i === '*')) {
    if (items.length !== 1) throw new ContactParseError('"*" Contact must be the only Contact');
    return { wildcard: true, count: 1 };
  }
  return { wildcard: false, contacts: items.map(parseOne), count: items.length };
}

export function formatParams(params: ReadonlyArray<readonly [string, string | null]>): string {
  let out = '';
  for (const [n, v] of params) out += v === null ? `;${n}` : `;${n}=${v}`;
  return out;
}
