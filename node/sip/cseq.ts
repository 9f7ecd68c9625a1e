/** CSeq (RFC 3261 §20.16): sequence number and method. */
import { badRequest } from './errors.js';
import { isDigit, isToken, skipWs } from './syntax.js';

export interface CSeq {
  seq: number;
  method: string;
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer. */
export const CSEQ_MAX = 0xffffffff;

export function parseCSeq(text: string): CSeq {
  const s = text;
  let i = skipWs(s, 0);
  const ds = i;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  if (i === ds) throw badRequest('Malformed CSeq');
  // Accumulate with an early range check so "0009" is 9 and 30 digits are never rounded into range.
  let seq = 0;
  for (let k = ds; k < i; k++) {
    seq = seq * 10 + (s.charCodeAt(k) - 48);
    if (seq > CSEQ_MAX) throw badRequest('CSeq number out of range');
  }
  const j = skipWs(s, i);
  if (j === i) throw badRequest('Malformed CSeq');
  const method = s.slice(j).trimEnd();
  if (!isToken(method)) throw badRequest('Malformed CSeq method');
  return { seq, method };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}
