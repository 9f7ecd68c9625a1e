/**
 * Pure RFC 3261 §18.3 stream framing: bytes in, whole SIP messages out. A message on a stream
 * ends where its Content-Length says; without one the stream cannot be delimited, so it is an
 * error. CRLFs between messages are tolerated (§7.5), and a double CRLF is an RFC 5626 §4.4.1
 * keep-alive ping. After an error the framer is poisoned: framing is lost and the caller closes.
 */

export type FrameEvent =
  | { readonly type: 'message'; readonly bytes: Buffer }
  | { readonly type: 'ping' }
  | {
      readonly type: 'error';
      /** Status to answer with when `head` holds a readable start line (400, 513). */
      readonly status: 400 | 513;
      readonly reason: string;
      /** The header block (through the blank line) when one was delimited; null when framing is lost. */
      readonly head: Buffer | null;
    };

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** Case-insensitive Content-Length (or compact `l`, §7.3.3) from a header block; null/NaN/'conflict'. */
export function contentLengthOf(head: string): number | null | 'invalid' {
  let found: number | null = null;
  let start = head.indexOf('\r\n') + 2; // skip the start line
  while (start > 1 && start < head.length) {
    const end = head.indexOf('\r\n', start);
    const line = head.slice(start, end < 0 ? head.length : end);
    start = end < 0 ? head.length : end + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name !== 'content-length' && name !== 'l') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,9}$/.test(value)) return 'invalid';
    const n = Number(value);
    if (found !== null && found !== n) return 'invalid';
    found = n;
  }
  return found;
}

/** Longest start line we wait for before judging it; longer ones are judged on what arrived. */
const START_LINE_PROBE = 8192;

/**
 * §7.1/§7.2 shape of a start line, checked as soon as it is complete (or START_LINE_PROBE bytes
 * arrived without a CRLF): a Status-Line begins with "SIP/", a Request-Line is printable text ending
 * in a SIP-Version. The parser judges the details (505, malformed Request-Line); this only stops a
 * connection spewing garbage from being held open until the idle timeout.
 */
function startLineShape(buf: Buffer): 'ok' | 'bad' | 'wait' {
  const eol = buf.indexOf(13);
  const end = eol < 0 ? Math.min(buf.length, START_LINE_PROBE) : eol;
  for (let i = 0; i < end; i++) {
    const b = buf[i] as number;
    if (b < 0x20 || b === 0x7f) return 'bad'; // controls (NUL, LF, ...) never appear in a start line
  }
  if (eol < 0) return buf.length < START_LINE_PROBE ? 'wait' : 'bad';
  const line = buf.toString('latin1', 0, eol);
  return line.startsWith('SIP/') || /\sSIP\/\d+\.\d+\s*$/i.test(line) ? 'ok' : 'bad';
}

export class StreamFramer {
  private buf: Buffer = EMPTY;
  /** Offset from which to resume the CRLFCRLF search (avoids rescanning a growing header). */
  private scanFrom = 0;
  private poisoned = false;
  /** The current message's start line was complete and looked like SIP. */
  private startLineOk = false;

  constructor(private readonly maxMessageSize: number) {}

  get buffered(): number {
    return this.buf.length;
  }

  get failed(): boolean {
    return this.poisoned;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.poisoned) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrameEvent[] = [];
    for (;;) {
      // §7.5 / RFC 5626 §4.4.1: CRLFs before a start line; CRLFCRLF is a ping.
      let skip = 0;
      while (skip + 1 < this.buf.length && this.buf[skip] === 13 && this.buf[skip + 1] === 10) {
        if (skip + 3 < this.buf.length && this.buf[skip + 2] === 13 && this.buf[skip + 3] === 10) {
          out.push({ type: 'ping' });
          skip += 4;
        } else skip += 2;
      }
      if (skip > 0) {
        this.buf = this.buf.subarray(skip);
        this.scanFrom = 0;
      }
      if (this.buf.length === 0 || (this.buf.length === 1 && this.buf[0] === 13)) break;
      if (!this.startLineOk) {
        const shape = startLineShape(this.buf);
        if (shape === 'bad') return this.fail(out, 400, 'Not a SIP start line', null);
        this.startLineOk = shape === 'ok';
      }
      const headEnd = this.buf.indexOf(CRLFCRLF, this.scanFrom);
      if (headEnd < 0) {
        if (this.buf.length > this.maxMessageSize) return this.fail(out, 513, 'Message Too Large', null);
        this.scanFrom = Math.max(0, this.buf.length - 3);
        break;
      }
      const bodyStart = headEnd + 4;
      const head = this.buf.subarray(0, bodyStart);
      if (bodyStart > this.maxMessageSize) return this.fail(out, 513, 'Message Too Large', head);
      const cl = contentLengthOf(head.toString('latin1'));
      if (cl === null) return this.fail(out, 400, 'Missing Content-Length', head);
      if (cl === 'invalid') return this.fail(out, 400, 'Bad Content-Length', head);
      const total = bodyStart + cl;
      if (total > this.maxMessageSize) return this.fail(out, 513, 'Message Too Large', head);
      if (this.buf.length < total) {
        this.scanFrom = headEnd; // header already found; wait for the body
        break;
      }
      // Copy so a small message does not pin a large coalesced chunk in memory.
      out.push({ type: 'message', bytes: Buffer.from(this.buf.subarray(0, total)) });
      this.buf = this.buf.length === total ? EMPTY : this.buf.subarray(total);
      this.scanFrom = 0;
      this.startLineOk = false;
    }
    return out;
  }

  private fail(out: FrameEvent[], status: 400 | 513, reason: string, head: Buffer | null): FrameEvent[] {
    this.poisoned = true;
    this.buf = EMPTY;
    out.push({ type: 'error', status, reason, head: head === null ? null : Buffer.from(head) });
    return out;
  }
}
