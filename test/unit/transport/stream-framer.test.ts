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
});
