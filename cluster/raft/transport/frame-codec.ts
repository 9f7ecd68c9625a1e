// Length-prefixed framing: [u32 BE length][body]. TCP delivers a byte stream, so one frame may
// arrive split across chunks or several frames in one chunk; the decoder handles both.

export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export function encodeFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the frame at the head of the buffer needs (prefix included), once its prefix is known. */
  private needed = 4;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /**
   * Feeds a chunk; returns every complete frame body now available. Chunks of an incomplete frame
   * are only kept, not joined: joining on every chunk would copy a large frame (a snapshot, a big
   * batch) once per chunk, quadratic in its size.
   */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    if (this.buffered < this.needed) return out;
    let buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len > this.maxFrameBytes) throw new FrameTooLargeError(`frame of ${len} bytes exceeds ${this.maxFrameBytes}`);
      if (buf.length - off - 4 < len) {
        this.needed = 4 + len;
        break;
      }
      out.push(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    buf = buf.subarray(off);
    if (buf.length < 4) this.needed = 4;
    this.chunks = buf.length > 0 ? [buf] : [];
    this.buffered = buf.length;
    return out;
  }
}
