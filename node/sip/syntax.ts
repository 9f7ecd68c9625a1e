/**
 * Character classes and small scanners shared by the header-value parsers (RFC 3261 §25.1).
 * Everything works on JS strings with charCodeAt and explicit indexes: no regex backtracking.
 */
import { badRequest } from './errors.js';

const TOKEN = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') TOKEN[c.charCodeAt(0)] = 1;

/** RFC 3261 §25.1 token characters. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

export function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Unfolds LWS (RFC 3261 §7.3.1: CRLF followed by whitespace is equivalent to one SP). */
export function unfold(s: string): string {
  if (s.indexOf('\n') < 0) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10) {
      let j = i;
      while (j < s.length && isWs(s.charCodeAt(j))) j++;
      out += ' ';
      i = j;
    } else {
      out += s[i];
      i++;
    }
  }
  return out;
}

/**
 * Reads a quoted-string starting at `i` (which must be a DQUOTE). Returns the unescaped content and
 * the index just past the closing quote (RFC 3261 §25.1 quoted-pair).
 */
export function readQuoted(s: string, i: number): { text: string; end: number } {
  let j = i + 1;
  let escaped = false;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 34) break;
    if (c === 92) {
      const n = j + 1 < s.length ? s.charCodeAt(j + 1) : -1;
      // quoted-pair excludes LF and CR (RFC 3261 §25.1).
      if (n === 10 || n === 13) throw badRequest('Malformed quoted-pair');
      if (n < 0) break;
      escaped = true;
      j += 2;
      continue;
    }
    j++;
  }
  if (j >= s.length) throw badRequest('Unterminated quoted string');
  const raw = s.slice(i + 1, j);
  // Common case: no quoted-pairs, the content is a plain slice.
  return { text: escaped ? raw.replace(/\\(.)/gs, '$1') : raw, end: j + 1 };
}

/** Index of the closing DQUOTE of the quoted string opening at `i`, or -1. */
function quotedEnd(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 34) return j;
    j += c === 92 ? 2 : 1;
  }
  return -1;
}

/**
 * Splits a header value on top-level commas (RFC 3261 §7.3.1), ignoring commas inside quoted strings
 * and <...>. Elements are trimmed; empty elements are kept so callers can reject `a,,b` where the grammar
 * forbids it. An unterminated quote or bracket makes the rest one element.
 */
export function splitTopLevel(s: string, sep = 44): string[] {
  const out: string[] = [];
  let start = 0;
  for (let end = nextTopLevel(s, 0, sep); end >= 0; end = nextTopLevel(s, start, sep)) {
    out.push(s.slice(start, end).trim());
    start = end + 1;
  }
  out.push(s.slice(start).trim());
  return out;
}

/**
 * The first non-empty element splitTopLevel would return, or '' when all are empty; without building
 * the array (reading the top Via of a line that holds several is done for every response).
 */
export function firstTopLevel(s: string, sep = 44): string {
  let start = 0;
  for (let end = nextTopLevel(s, 0, sep); end >= 0; end = nextTopLevel(s, start, sep)) {
    const element = s.slice(start, end).trim();
    if (element !== '') return element;
    start = end + 1;
  }
  return s.slice(start).trim();
}

/**
 * Index of the next `sep` at or after `i` outside quoted strings and <...>, or -1. An element never
 * starts inside <...> (a separator only counts outside), so each search starts outside too; an
 * unterminated quote makes the rest one element.
 */
function nextTopLevel(s: string, i: number, sep: number): number {
  let angle = false;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const e = quotedEnd(s, i);
      if (e < 0) return -1;
      i = e + 1;
      continue;
    }
    if (c === 60) angle = true;
    else if (c === 62) angle = false;
    else if (c === sep && !angle) return i;
    i++;
  }
  return -1;
}

/** True if `s` has a top-level comma (outside quotes and <>). */
export function hasTopLevelComma(s: string): boolean {
  if (s.indexOf(',') < 0) return false;
  return splitTopLevel(s).length > 1;
}

/** Quotes a string as an RFC 3261 quoted-string, escaping `"` and `\`. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/** Parses a non-negative decimal made only of digits; returns -1 when malformed or above `max`. */
export function parseDecimal(s: string, max: number): number {
  if (s.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
    if (n > max) return -1;
  }
  return n;
}
