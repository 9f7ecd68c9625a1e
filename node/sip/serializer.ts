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
  if (o !== null && sl.unchanged) chunks.push({ src: o.src, start: o.headStart, end: o.startLineEnd }, CRLF);
  else chunks.push(sl.text + CRLF);
  let wroteLength = false;
  const lengthLine = `Content-Length: ${body.length}\r\n`;
  for (const f of msg.headers.list()) {
    if (f.key === 'content-length') {
      if (wroteLength) continue;
      wroteLength = true;
      // Keep the original bytes (maybe the compact `l:`) when they already state the right length.
      if (f.src !== null && o !== null && o.contentLength === body.length) {
        chunks.push({ src: f.src, start: f.lineStart, end: f.lineEnd }, CRLF);
      } else {
        chunks.push(lengthLine);
      }
      continue;
    }
    if (f.src !== null) chunks.push({ src: f.src, start: f.lineStart, end: f.lineEnd }, CRLF);
    else chunks.push(`${f.name}: ${f.value}\r\n`);
  }
  if (!wroteLength) chunks.push(lengthLine);
  chunks.push(CRLF);

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
