/**
 * Model → wire. Unchanged fields are copied from the bytes they were parsed from (unknown headers stay
 * byte-exact); an untouched message with a correct Content-Length is one memcpy. Content-Length is always
 * written to match the body (RFC 3261 §20.14; mandatory over streams, §18.3).
 */
import { SipMessage } from './message.js';

type Chunk = string | { src: Buffer; start: number; end: number };

const CRLF = '\r\n';

function startLine(msg: SipMessage): { text: string; unchanged: boolean } {
  const o = msg.origin;
  if (msg.isRequest) {
    const unchanged = o !== null && o.first === msg.method && o.second === msg.uri && o.third === msg.version;
    return { text: `${msg.method} ${msg.uri} ${msg.version}`, unchanged };
  }
  const code = String(msg.status);
  const unchanged = o !== null && o.first === msg.version && o.second === code && o.third === msg.reason;
  return { text: `${msg.version} ${code} ${msg.reason}`, unchanged };
}

export function serialize(msg: SipMessage): Buffer {
  const o = msg.origin;
  const body = msg.body;
  const sl = startLine(msg);
  if (o !== null && sl.unchanged && !msg.headers.modified && o.complete && o.contentLength === body.length) {
    const headLen = o.headEnd - o.headStart;
    const out = Buffer.allocUnsafe(headLen + body.length);
    o.src.copy(out, 0, o.headStart, o.headEnd);
    body.copy(out, headLen);
    return out;
  }

  const chunks: Chunk[] = [];
  // Adjacent unchanged lines are copied as one range (their CRLFs included), consecutive strings joined.
  const pushRange = (src: Buffer, start: number, end: number): void => {
    const crlf = end + 1 < src.length && src[end] === 13 && src[end + 1] === 10;
    const last = chunks[chunks.length - 1];
    if (crlf && last !== undefined && typeof last !== 'string' && last.src === src && last.end === start) {
      last.end = end + 2;
      return;
    }
    if (crlf) chunks.push({ src, start, end: end + 2 });
    else chunks.push({ src, start, end }, CRLF);
  };
  const pushText = (t: string): void => {
    const last = chunks.length - 1;
    if (last >= 0 && typeof chunks[last] === 'string') chunks[last] = (chunks[last] as string) + t;
    else chunks.push(t);
  };
  if (o !== null && sl.unchanged) pushRange(o.src, o.headStart, o.startLineEnd);
  else pushText(sl.text + CRLF);
  let wroteLength = false;
  for (const f of msg.headers.list()) {
    if (f.key === 'content-length') {
      if (wroteLength) continue;
      wroteLength = true;
      // Keep the original bytes (maybe the compact `l:`) when they already state the right length.
      if (f.src !== null && o !== null && o.contentLength === body.length) pushRange(f.src, f.lineStart, f.lineEnd);
      else pushText(`Content-Length: ${body.length}\r\n`);
      continue;
    }
    if (f.src !== null) pushRange(f.src, f.lineStart, f.lineEnd);
    else pushText(`${f.name}: ${f.value}\r\n`);
  }
  if (!wroteLength) pushText(`Content-Length: ${body.length}\r\n`);
  pushText(CRLF);

  let total = body.length;
  for (const c of chunks) total += typeof c === 'string' ? Buffer.byteLength(c) : c.end - c.start;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const c of chunks) {
    if (typeof c === 'string') at += out.write(c, at, 'utf8');
    else at += c.src.copy(out, at, c.start, c.end);
  }
  body.copy(out, at);
  return out;
}
