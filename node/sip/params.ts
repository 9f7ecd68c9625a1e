/**
 * Header parameters: `*( SEMI generic-param )` with generic-param = token [ EQUAL gen-value ]
 * and gen-value = token / host / quoted-string (RFC 3261 §25.1, §7.3.1). SWS may surround `;` and `=`.
 * Names are stored lower-cased (parameter names compare case-insensitively, §20); values are kept as
 * written, quoted strings with their quotes, so formatting reproduces them.
 */
import { badRequest } from './errors.js';
import { isTokenChar, skipWs } from './syntax.js';

export type Params = Map<string, string | null>;

function isValueChar(c: number): boolean {
  // token plus the host characters `:` `[` `]` (IPv6 references in received/maddr).
  return isTokenChar(c) || c === 58 || c === 91 || c === 93;
}

/**
 * Parses parameters starting at `i` (at a `;` or whitespace before it). Stops at end of string or at
 * a character that cannot continue the parameter list when `stopAt` matches it; returns the end index.
 */
export function parseParamsAt(s: string, i: number, into: Params, stopAt = -1): number {
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length) return i;
    const c = s.charCodeAt(i);
    if (c === stopAt) return i;
    if (c !== 59) throw badRequest('Malformed header parameters');
    i = skipWs(s, i + 1);
    const ns = i;
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
    if (i === ns) throw badRequest('Empty header parameter');
    const name = s.slice(ns, i).toLowerCase();
    i = skipWs(s, i);
    if (i < s.length && s.charCodeAt(i) === 61) {
      i = skipWs(s, i + 1);
      const vs = i;
      if (i < s.length && s.charCodeAt(i) === 34) {
        i++;
        while (i < s.length && s.charCodeAt(i) !== 34) i += s.charCodeAt(i) === 92 ? 2 : 1;
        if (i >= s.length) throw badRequest('Unterminated quoted parameter');
        i++;
      } else {
        while (i < s.length && isValueChar(s.charCodeAt(i))) i++;
        if (i === vs) throw badRequest(`Empty value for parameter ${name}`);
      }
      into.set(name, s.slice(vs, i));
    } else {
      into.set(name, null);
    }
    i = skipWs(s, i);
    if (i < s.length && s.charCodeAt(i) !== 59 && s.charCodeAt(i) !== stopAt) {
      throw badRequest('Malformed header parameters');
    }
  }
}

export function parseParams(s: string): Params {
  const m: Params = new Map();
  parseParamsAt(s, 0, m);
  return m;
}

export function formatParams(p: Params): string {
  let out = '';
  for (const [k, v] of p) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/** The value of a parameter with surrounding quotes and quoted-pairs removed. */
export function unquoteParam(v: string | null | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return v;
}
