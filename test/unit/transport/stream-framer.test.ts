import { StreamFramer, contentLengthOf, type FrameEvent } from '../../../node/transport/index.js';

const msg = (body = '', extra = ''): string =>
  `OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

function texts(events: FrameEvent[]): string[] {
  return events.map((e) => (e.type === 'message' ? e.bytes.toString() : e.type === 'ping' ? '<ping>' : `<error ${e.status} ${e.reason}>`));
}

describe('RFC 3261 §18.3 stream framing', () => {
  test('a message split across every possible chunk boundary is reassembled once', () => {
    const whole = msg('v=0\r\nbody bytes');
    for (let cut = 1; cut < whole.length; cut++) {
      const f = new StreamFramer(65535);
      const first = f.push(Buffer.from(whole.slice(0, cut)));
      const second = f.push(Buffer.from(whole.slice(cut)));
      expect(texts([...first, ...second])).toEqual([whole]);
    }
  });

  test('byte-at-a-time delivery', () => {
    const whole = msg('hello') + msg('');
    const f = new StreamFramer(65535);
    const out: FrameEvent[] = [];
    for (const b of Buffer.from(whole)) out.push(...f.push(Buffer.from([b])));
    expect(texts(out)).toEqual([msg('hello'), msg('')]);
    expect(f.buffered).toBe(0);
  });

  test('several messages in one chunk, with CRLF keep-alives between them', () => {
    const f = new StreamFramer(65535);
    const out = f.push(Buffer.from(`${msg('a')}\r\n${msg('bb')}\r\n\r\n${msg('')}`));
    expect(texts(out)).toEqual([msg('a'), msg('bb'), '<ping>', msg('')]);
  });

  test('compact l: header and case-insensitive names', () => {
    const m = 'MESSAGE sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP h\r\nl: 3\r\n\r\nabc';
    expect(texts(new StreamFramer(1000).push(Buffer.from(m)))).toEqual([m]);
    expect(contentLengthOf('X\r\ncontent-LENGTH :  12 \r\n')).toBe(12);
  });

  test('missing Content-Length is an error carrying the delimited head', () => {
    const f = new StreamFramer(65535);
    const out = f.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n'));
    expect(out).toHaveLength(1);
    const e = out[0];
    expect(e.type === 'error' && e.status === 400 && e.reason === 'Missing Content-Length' && e.head !== null).toBe(true);
    expect(f.failed).toBe(true);
    expect(f.push(Buffer.from(msg()))).toEqual([]); // poisoned: framing is lost
  });

  test('conflicting or non-numeric Content-Length is an error', () => {
    expect(texts(new StreamFramer(9999).push(Buffer.from(msg('', 'Content-Length: 5\r\n'))))).toEqual(['<error 400 Bad Content-Length>']);
    expect(texts(new StreamFramer(9999).push(Buffer.from('X s SIP/2.0\r\nl: -1\r\n\r\n')))).toEqual(['<error 400 Bad Content-Length>']);
  });

  test('oversize: a declared body beyond the limit, or an endless header block', () => {
    const big = new StreamFramer(200).push(Buffer.from(msg('x'.repeat(300))));
    expect(texts(big)).toEqual(['<error 513 Message Too Large>']);
    const f = new StreamFramer(200);
    expect(f.push(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nX: ${'y'.repeat(150)}`))).toEqual([]);
    const lost = f.push(Buffer.from('z'.repeat(100)));
    expect(lost).toEqual([{ type: 'error', status: 513, reason: 'Message Too Large', head: null }]);
  });

  test('a message exactly at the limit passes', () => {
    let m = msg('');
    for (let n = 0; Buffer.byteLength(m) < 300; n++) m = msg('x'.repeat(n));
    expect(Buffer.byteLength(m)).toBe(300);
    expect(texts(new StreamFramer(300).push(Buffer.from(m)))).toEqual([m]);
    expect(texts(new StreamFramer(299).push(Buffer.from(m)))).toEqual(['<error 513 Message Too Large>']);
  });

  test('a 64 KB message fed one byte at a time is framed with linear work (no re-join per chunk)', () => {
    const body = 'b'.repeat(32 * 1024);
    const whole = msg(body, `X-Pad: ${'p'.repeat(32 * 1024)}\r\n`);
    const bytes = Buffer.from(whole);
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    const f = new StreamFramer(128 * 1024);
    const out: FrameEvent[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...f.push(bytes.subarray(i, i + 1)));
    expect(out).toHaveLength(1);
    expect(out[0].type === 'message' && out[0].bytes.equals(bytes)).toBe(true);
    expect(f.buffered).toBe(0);
    // Re-joining per byte would copy ~n²/2 (about 2.2 GB here); staging, joining the head and joining the message copy a few n.
    expect(f.bytesCopied).toBeLessThanOrEqual(5 * bytes.length);
    expect(f.bytesScanned).toBeLessThanOrEqual(2 * bytes.length);
  });

  test('work stays linear for a header block trickled in small uneven chunks, pipelined with a second message', () => {
    const first = msg('x'.repeat(5000), `X-Long: ${'h'.repeat(20000)}\r\n`);
    const both = Buffer.from(first + '\r\n\r\n' + msg('tail'));
    const f = new StreamFramer(65535);
    const out: FrameEvent[] = [];
    for (let i = 0, step = 1; i < both.length; i += step, step = (step % 7) + 1) out.push(...f.push(both.subarray(i, i + step)));
    expect(texts(out)).toEqual([first, '<ping>', msg('tail')]);
    expect(f.bytesCopied).toBeLessThanOrEqual(5 * both.length); // staged once, head joined once, message joined once
    expect(f.bytesScanned).toBeLessThanOrEqual(2 * both.length);
  });

  test('a header terminator straddling chunk boundaries at every offset is found', () => {
    const whole = msg('abc');
    const end = whole.indexOf('\r\n\r\n');
    for (let cut = end - 1; cut <= end + 4; cut++) {
      for (let cut2 = cut + 1; cut2 <= end + 5; cut2++) {
        const f = new StreamFramer(1000);
        const out = [...f.push(Buffer.from(whole.slice(0, cut))), ...f.push(Buffer.from(whole.slice(cut, cut2))), ...f.push(Buffer.from(whole.slice(cut2)))];
        expect(texts(out)).toEqual([whole]);
      }
    }
  });

  test('RFC 5626 §4.4.1: a CRLFCRLF ping split across chunks is still one ping; a lone CRLF is not', () => {
    const f = new StreamFramer(1000);
    const out: FrameEvent[] = [];
    for (const b of Buffer.from('\r\n\r\n')) out.push(...f.push(Buffer.from([b])));
    expect(texts(out)).toEqual(['<ping>']);
    expect(texts(f.push(Buffer.from('\r\n')))).toEqual([]);
    expect(texts(f.push(Buffer.from(msg(''))))).toEqual([msg('')]);
    expect(f.buffered).toBe(0);
  });

  test('garbage trickled byte by byte is refused at its first control byte or at the start-line probe', () => {
    const f = new StreamFramer(65535);
    const out: FrameEvent[] = [];
    for (const b of Buffer.from('GET / HTTP/1.1\r\n')) out.push(...f.push(Buffer.from([b])));
    expect(texts(out)).toEqual(['<error 400 Not a SIP start line>']);
    const g = new StreamFramer(65535);
    const lost: FrameEvent[] = [];
    for (let i = 0; i < 9000 && lost.length === 0; i++) lost.push(...g.push(Buffer.from('a')));
    expect(texts(lost)).toEqual(['<error 400 Not a SIP start line>']);
    expect(texts(new StreamFramer(100).push(Buffer.from('INVITE\x00 sip:a SIP/2.0\r\n')))).toEqual(['<error 400 Not a SIP start line>']);
  });

  test('any split of a pipelined stream frames exactly as the whole stream in one chunk', () => {
    const stream = Buffer.from(
      `\r\n${msg('a\r\n\r\nb')}\r\n\r\n${msg('', `X-Big: ${'q'.repeat(600)}\r\n`)}${msg('x'.repeat(300))}\r\n\r\n\r\n${msg('end')}`,
    );
    const expected = texts(new StreamFramer(65535).push(stream));
    expect(expected).toHaveLength(6);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const f = new StreamFramer(65535);
      const out: FrameEvent[] = [];
      for (let i = 0; i < stream.length; ) {
        const step = 1 + rand(round % 2 === 0 ? 4 : 400);
        out.push(...f.push(stream.subarray(i, i + step)));
        i += step;
      }
      expect(texts(out)).toEqual(expected);
      expect(f.buffered).toBe(0);
    }
  });
});
