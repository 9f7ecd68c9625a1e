/**
 * A best-effort error response for bytes the parser rejected: copies the Via, From, To, Call-ID
 * and CSeq lines verbatim (RFC 3261 §8.2.6.2) so the sender can match it. Without a Via there is
 * nothing to address, so no reply is built.
 */
const COPIED = new Set(['via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq']);

/** Strips anything that could break the status line (a parser reason is ours, but be strict). */
function safePhrase(reason: string): string {
  const clean = reason.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  return clean === '' ? 'Bad Request' : clean.slice(0, 200);
}

export function rawErrorResponse(bytes: Buffer, status: number, reason: string, serverHeader: string): Buffer | null {
  const text = bytes.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const lines = head.split(/\r?\n/);
  const startLine = lines[0] ?? '';
  if (/^SIP\/2\.0\s/i.test(startLine)) return null; // never answer a response (§8.1.3.1)
  if (/^ACK\s/i.test(startLine)) return null; // ACK is never answered
  const kept: string[] = [];
  let hasVia = false;
  let hasToTag = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0 || line.length > 4096) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!COPIED.has(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(line)) continue;
    if (name === 'via' || name === 'v') hasVia = true;
    if ((name === 'to' || name === 't') && /;\s*tag\s*=/i.test(line)) hasToTag = true;
    kept.push(line);
  }
  if (!hasVia) return null;
  if (!hasToTag) {
    const idx = kept.findIndex((l) => /^\s*(to|t)\s*:/i.test(l));
    if (idx >= 0) kept[idx] = `${kept[idx]};tag=${Math.random().toString(36).slice(2, 12)}`;
  }
  const out = [`SIP/2.0 ${status} ${safePhrase(reason)}`, ...kept];
  if (serverHeader !== '') out.push(`Server: ${serverHeader}`);
  out.push('Content-Length: 0', '', '');
  return Buffer.from(out.join('\r\n'), 'latin1');
}
