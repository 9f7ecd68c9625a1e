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

const CR = 13;
const LF = 10;
const CR_ONLY = Buffer.from([CR]);
/** Segments up to this size are copied into a staging buffer of STAGING_BYTES instead of kept. */
const SMALL_SEGMENT = 256;
const STAGING_BYTES = 4096;

/** One step of a matcher for CRLFCRLF: state = bytes of it matched so far (4 = found). */
function crlfcrlfStep(state: number, b: number): number {
  const want = state % 2 === 0 ? CR : LF;
  if (b === want) return state + 1;
  return b === CR ? 1 : 0;
}

/** §7.1/§7.2: a Status-Line begins "SIP/"; a Request-Line ends in a SIP-Version. */
function looksLikeSipStartLine(line: string): boolean {
  return line.startsWith('SIP/') || /\sSIP\/\d+\.\d+\s*$/i.test(line);
}

/**
 * Chunks of an unfinished message are kept, not joined, until its header block (then its body) is
 * complete, and every byte is searched once: a peer trickling a large message one byte per segment
 * (or an innocent slow link) would otherwise cost a full re-join and re-scan per segment, quadratic
 * in the message size. `bytesCopied` / `bytesScanned` make that work observable.
 */
export class StreamFramer {
  /** Bytes of the current message (from its first non-CRLF byte), as they arrived. */
  private chunks: Buffer[] = [];
  private pending = 0;
  /** Between messages: a CR seen whose LF has not arrived yet. */
  private pendingCr = false;
  /** Between messages: the last bytes were a CRLF (a second makes an RFC 5626 §4.4.1 ping). */
  private sawCrlf = false;
  /** Start line: judged (ok), bytes checked for controls so far, offset of its CR once seen. */
  private startLineOk = false;
  private lineChecked = 0;
  /**
   * Header search: how many of the last bytes searched are a prefix of CRLFCRLF (0-3), so a
   * terminator straddling chunks is found without searching those bytes again.
   */
  private matched = 0;
  /**
   * Tiny segments (a trickling peer, a slow link) are copied into this shared buffer, the last
   * pending chunk being a view of it: each byte is still copied once, but thousands of pending
   * bytes do not each hold a Buffer object of their own (memory a slowloris would multiply).
   */
  private staging: Buffer | null = null;
  private stagingUsed = 0;
  /** Total size (head + body) once the header block is delimited; -1 before. */
  private total = -1;
  /** The single pending chunk is a buffer this framer allocated (a join), not a caller's chunk. */
  private fresh = false;
  private poisoned = false;
  private copied = 0;
  private scanned = 0;

  constructor(private readonly maxMessageSize: number) {}

  get buffered(): number {
    return this.pending + (this.pendingCr ? 1 : 0);
  }

  get failed(): boolean {
    return this.poisoned;
  }

  /** Bytes copied joining chunks and emitting messages (linear in the input when framing is sound). */
  get bytesCopied(): number {
    return this.copied;
  }

  /** Bytes examined by the start-line and header-terminator searches. */
  get bytesScanned(): number {
    return this.scanned;
  }

  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    let input: Buffer | null = chunk;
    while (input !== null && input.length > 0 && !this.poisoned) {
      if (this.pending === 0) {
        input = this.skipBetweenMessages(input, out);
        if (input === null) break;
      }
      input = this.feedMessage(input, out);
    }
    return out;
  }

  /**
   * §7.5: CRLFs may precede a start line; RFC 5626 §4.4.1: CRLFCRLF is a ping (a chunk boundary
   * inside it changes nothing, TCP has no record boundaries). Returns the bytes from the first byte
   * of the next message, or null when the input held only CRLFs.
   */
  private skipBetweenMessages(input: Buffer, out: FrameEvent[]): Buffer | null {
    let i = 0;
    while (i < input.length) {
      const b = input[i] as number;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (b !== LF) {
          // A CR not followed by LF starts the message (and fails its start-line check).
          this.sawCrlf = false;
          this.copied += input.length - i + 1;
          return Buffer.concat([CR_ONLY, input.subarray(i)]);
        }
        i++;
        if (this.sawCrlf) out.push({ type: 'ping' });
        this.sawCrlf = !this.sawCrlf;
        continue;
      }
      if (b !== CR) {
        this.sawCrlf = false;
        return input.subarray(i);
      }
      this.pendingCr = true;
      i++;
    }
    return null;
  }

  /** Adds bytes of the current message; returns what follows a completed message, else null. */
  private feedMessage(part: Buffer, out: FrameEvent[]): Buffer | null {
    const base = this.pending;
    this.append(part);
    if (this.total < 0) {
      if (!this.startLineOk) {
        const shape = this.checkStartLine(part, base);
        if (shape === 'bad') return this.fail(out, 400, 'Not a SIP start line', null);
        this.startLineOk = shape === 'ok';
      }
      const headEnd = this.findHeadEnd(part, base);
      if (headEnd < 0) {
        if (this.pending > this.maxMessageSize) return this.fail(out, 513, 'Message Too Large', null);
        return null;
      }
      const buf = this.join();
      const bodyStart = headEnd + 4;
      const head = buf.subarray(0, bodyStart);
      if (bodyStart > this.maxMessageSize) return this.fail(out, 513, 'Message Too Large', head);
      const cl = contentLengthOf(head.toString('latin1'));
      if (cl === null) return this.fail(out, 400, 'Missing Content-Length', head);
      if (cl === 'invalid') return this.fail(out, 400, 'Bad Content-Length', head);
      this.total = bodyStart + cl;
      if (this.total > this.maxMessageSize) return this.fail(out, 513, 'Message Too Large', head);
    }
    if (this.pending < this.total) return null;
    const total = this.total;
    const buf = this.join();
    // Copy unless the join made a fresh buffer of exactly this message: a small message must not
    // pin a large coalesced chunk in memory.
    let bytes: Buffer;
    if (this.fresh && buf.length === total) bytes = buf;
    else {
      bytes = Buffer.from(buf.subarray(0, total));
      this.copied += total;
    }
    out.push({ type: 'message', bytes });
    const rest = buf.subarray(total);
    this.resetMessage();
    return rest.length > 0 ? rest : null;
  }

  /**
   * §7.1/§7.2 shape of the start line, judged once it is complete (or START_LINE_PROBE bytes arrived
   * without a CR): controls never appear in one. The parser judges the details (505, malformed
   * Request-Line); this only stops a connection spewing garbage from being held open until the
   * idle timeout. Each byte is checked once, in the chunk it arrived in.
   */
  private checkStartLine(part: Buffer, base: number): 'ok' | 'bad' | 'wait' {
    // Earlier chunks of the line were checked whole (a line past the probe already failed).
    const from = this.lineChecked - base;
    const crAt = part.indexOf(CR, from);
    const end = crAt < 0 ? Math.min(part.length, Math.max(from, START_LINE_PROBE - base)) : crAt;
    this.scanned += end - from;
    for (let i = from; i < end; i++) {
      const b = part[i] as number;
      if (b < 0x20 || b === 0x7f) return 'bad'; // controls (NUL, LF, ...) never appear in a start line
    }
    this.lineChecked = base + end;
    if (crAt < 0) return this.pending < START_LINE_PROBE ? 'wait' : 'bad';
    const eol = base + crAt;
    const line = this.prefix(eol).toString('latin1');
    return looksLikeSipStartLine(line) ? 'ok' : 'bad';
  }

  private append(part: Buffer): void {
    this.pending += part.length;
    if (part.length > SMALL_SEGMENT) {
      this.chunks.push(part);
      this.staging = null; // later tiny segments start a new staging buffer after this chunk
      return;
    }
    if (this.staging === null || this.stagingUsed + part.length > this.staging.length) {
      this.staging = Buffer.allocUnsafe(STAGING_BYTES);
      this.stagingUsed = 0;
      this.chunks.push(EMPTY);
    }
    part.copy(this.staging, this.stagingUsed);
    this.copied += part.length;
    this.stagingUsed += part.length;
    this.chunks[this.chunks.length - 1] = this.staging.subarray(0, this.stagingUsed);
  }

  /**
   * Offset of the CRLFCRLF ending the header block, searching only bytes not searched before: a
   * terminator begun in earlier chunks is completed byte by byte (at most 3), then the native
   * search covers this chunk.
   */
  private findHeadEnd(part: Buffer, base: number): number {
    let state = this.matched;
    for (let i = 0; state > 0 && i < part.length && i < 3; i++) {
      state = crlfcrlfStep(state, part[i] as number);
      if (state === 4) return base + i - 3;
      if (state <= i + 1) break; // the match restarted inside this chunk: the search below finds it
    }
    const at = part.indexOf(CRLFCRLF);
    this.scanned += at < 0 ? part.length : at + 4;
    if (at >= 0) return base + at;
    // Longest suffix of everything searched that is a prefix of CRLFCRLF.
    state = part.length >= 3 ? 0 : this.matched;
    for (let i = Math.max(0, part.length - 3); i < part.length; i++) state = crlfcrlfStep(state, part[i] as number);
    this.matched = state;
    return -1;
  }

  /** The first `n` bytes of the current message as one buffer (n within the pending bytes). */
  private prefix(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    this.copied += n;
    return Buffer.concat(this.chunks, this.pending).subarray(0, n);
  }

  /** Joins the pending chunks once; later chunks are appended to the joined buffer. */
  private join(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0] as Buffer;
    const buf = Buffer.concat(this.chunks, this.pending);
    this.copied += this.pending;
    this.chunks = [buf];
    this.staging = null;
    this.fresh = true;
    return buf;
  }

  private resetMessage(): void {
    this.chunks = [];
    this.pending = 0;
    this.startLineOk = false;
    this.lineChecked = 0;
    this.matched = 0;
    this.staging = null;
    this.stagingUsed = 0;
    this.total = -1;
    this.fresh = false;
  }

  private fail(out: FrameEvent[], status: 400 | 513, reason: string, head: Buffer | null): null {
    this.poisoned = true;
    this.resetMessage();
    this.pendingCr = false;
    out.push({ type: 'error', status, reason, head: head === null ? null : Buffer.from(head) });
    return null;
  }
}
