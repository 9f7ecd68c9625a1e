/**
 * Keep-alives on a SIP UDP port (RFC 5626 §4.4.2 / §8.4): STUN Binding requests are answered with
 * the address they came from (RFC 5389, checked against the RFC 5769 test vectors), CRLF datagrams
 * are dropped silently; neither reaches the SIP parser or counts as malformed. Then the same on a
 * real node's socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { configSchema } from '../../../config/index.js';
import { startSipNode, type SipNode } from '../../../node/core/index.js';
import { createLogger } from '../../../node/log/index.js';
import { keepAliveOf, mayBeKeepAlive, stunBindingResponse, type KeepAlive } from '../../../node/transport/index.js';
import { sipRequest, statusOf, udpClient } from '../../helpers/sip-client.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** RFC 5769 §2.2/§2.3's transaction ID. */
const TXID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae');

function bindingRequest(opts: { cookie?: boolean; id?: Buffer; attrs?: Buffer; fingerprint?: boolean } = {}): Buffer {
  const attrs = opts.attrs ?? Buffer.alloc(0);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0001, 0);
  if (opts.cookie ?? true) head.writeUInt32BE(0x2112a442, 4);
  (opts.id ?? TXID).copy(head, opts.cookie === false ? 4 : 8);
  let msg = Buffer.concat([head, attrs]);
  if (opts.fingerprint === true) {
    msg.writeUInt16BE(msg.length - 20 + 8, 2);
    const fp = Buffer.alloc(8);
    fp.writeUInt16BE(0x8028, 0);
    fp.writeUInt16BE(4, 2);
    fp.writeUInt32BE((crc32(msg) ^ 0x5354554e) >>> 0, 4);
    msg = Buffer.concat([msg, fp]);
  }
  msg.writeUInt16BE(msg.length - 20, 2);
  return msg;
}

function stunOf(datagram: Buffer): Extract<KeepAlive, { kind: 'stun' }> {
  const ka = keepAliveOf(datagram);
  if (ka === null || ka.kind !== 'stun') throw new Error('not a STUN Binding request');
  return ka;
}

describe('keepAliveOf', () => {
  it('takes CRLF-only datagrams as keep-alives, and nothing that starts a SIP message', () => {
    expect(keepAliveOf(Buffer.from('\r\n\r\n'))).toEqual({ kind: 'crlf' });
    expect(keepAliveOf(Buffer.from('\r\n'))).toEqual({ kind: 'crlf' });
    expect(keepAliveOf(Buffer.from('\r\nOPTIONS sip:a SIP/2.0\r\n'))).toBeNull();
    expect(mayBeKeepAlive(Buffer.from('OPTIONS sip:a SIP/2.0\r\n'))).toBe(false);
    expect(mayBeKeepAlive(Buffer.from('SIP/2.0 200 OK\r\n'))).toBe(false);
    expect(mayBeKeepAlive(Buffer.alloc(0))).toBe(false);
  });

  it('accepts a Binding request without attributes or with a valid FINGERPRINT, and nothing else', () => {
    expect(stunOf(bindingRequest()).fingerprint).toBe(false);
    expect(stunOf(bindingRequest({ fingerprint: true })).fingerprint).toBe(true);
    const badFingerprint = bindingRequest({ fingerprint: true });
    badFingerprint[badFingerprint.length - 1] ^= 1;
    expect(keepAliveOf(badFingerprint)).toBeNull();
    // A Binding success response, a wrong length field, a truncated header.
    const response = bindingRequest();
    response.writeUInt16BE(0x0101, 0);
    expect(keepAliveOf(response)).toBeNull();
    const badLength = bindingRequest();
    badLength.writeUInt16BE(4, 2);
    expect(keepAliveOf(badLength)).toBeNull();
    expect(keepAliveOf(bindingRequest().subarray(0, 12))).toBeNull();
  });

  it('does not answer the RFC 5769 §2.1 sample request: its USERNAME / MESSAGE-INTEGRITY need credentials a keep-alive never carries', () => {
    const sample = hex(`
      00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
      80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
      00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36
      00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
      00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
      80 28 00 04 e5 7a 3b cf`);
    expect(keepAliveOf(sample)).toBeNull();
  });
});

describe('stunBindingResponse', () => {
  it('encodes XOR-MAPPED-ADDRESS for IPv4 as RFC 5769 §2.2 does (192.0.2.1:32853)', () => {
    const res = stunBindingResponse(stunOf(bindingRequest()), '192.0.2.1', 32853)!;
    expect(res.readUInt16BE(0)).toBe(0x0101);
    expect(res.readUInt16BE(2)).toBe(12);
    expect(res.subarray(4, 20)).toEqual(Buffer.concat([hex('21 12 a4 42'), TXID]));
    expect(res.subarray(20)).toEqual(hex('00 20 00 08 00 01 a1 47 e1 12 a6 43'));
  });

  it('encodes XOR-MAPPED-ADDRESS for IPv6 as RFC 5769 §2.3 does', () => {
    const res = stunBindingResponse(stunOf(bindingRequest()), '2001:db8:1234:5678:11:2233:4455:6677', 32853)!;
    expect(res.subarray(20)).toEqual(hex('00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9'));
  });

  it('answers a classic RFC 3489 request (no magic cookie) with MAPPED-ADDRESS and its own 128-bit transaction ID', () => {
    const id = hex('00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff');
    const res = stunBindingResponse(stunOf(bindingRequest({ cookie: false, id })), '10.1.2.3', 5060)!;
    expect(res.subarray(4, 20)).toEqual(id);
    expect(res.subarray(20)).toEqual(hex('00 01 00 08 00 01 13 c4 0a 01 02 03'));
  });

  it('adds a valid FINGERPRINT when the request had one', () => {
    const res = stunBindingResponse(stunOf(bindingRequest({ fingerprint: true })), '127.0.0.1', 40000)!;
    expect(res.readUInt16BE(2)).toBe(res.length - 20);
    const at = res.length - 8;
    expect(res.readUInt16BE(at)).toBe(0x8028);
    expect(res.readUInt32BE(at + 4)).toBe((crc32(res.subarray(0, at)) ^ 0x5354554e) >>> 0);
  });

  it('reports an IPv4 sender seen through a dual-stack socket (::ffff:a.b.c.d) as IPv4, and expands compressed IPv6', () => {
    const mapped = stunBindingResponse(stunOf(bindingRequest()), '::ffff:192.0.2.1', 32853)!;
    expect(mapped.subarray(20)).toEqual(hex('00 20 00 08 00 01 a1 47 e1 12 a6 43'));
    const compressed = stunBindingResponse(stunOf(bindingRequest()), 'fe80::1', 32853)!;
    const plain = hex('fe800000 00000000 00000000 00000001');
    const key = Buffer.concat([hex('21 12 a4 42'), TXID]);
    expect(compressed.subarray(20, 28)).toEqual(hex('00 20 00 14 00 02 a1 47'));
    expect(compressed.subarray(28)).toEqual(Buffer.from(plain.map((b, i) => b ^ key[i])));
    expect(stunBindingResponse(stunOf(bindingRequest()), 'not-an-address', 1)).toBeNull();
  });
});

describe('on a real node UDP listener', () => {
  let node: SipNode;
  let port: number;
  beforeAll(async () => {
    const config = configSchema.decode({ listen: { udp: ['127.0.0.1:0'], tcp: ['127.0.0.1:0'] }, admin: { enabled: false }, log: { level: 'silent' } }, '');
    node = await startSipNode(config, createLogger(config.log).logger);
    port = node.udp[0].listener.port;
  });
  afterAll(() => node.stop());

  function socket(): Promise<Socket> {
    return new Promise((resolve) => {
      const s = createSocket('udp4');
      s.bind(0, '127.0.0.1', () => resolve(s));
    });
  }

  it('answers a STUN Binding request with the sender address, drops CRLF keep-alives, and serves SIP after them', async () => {
    const s = await socket();
    const replies: Buffer[] = [];
    s.on('message', (m: Buffer) => replies.push(m));
    const got = new Promise<Buffer>((resolve) => s.once('message', resolve));
    s.send(Buffer.from('\r\n\r\n'), port, '127.0.0.1');
    s.send(Buffer.from('\r\n'), port, '127.0.0.1');
    s.send(bindingRequest({ fingerprint: true }), port, '127.0.0.1');
    const res = await got;
    const myPort = (s.address() as AddressInfo).port;
    expect(res.readUInt16BE(0)).toBe(0x0101);
    expect(res.subarray(8, 20)).toEqual(TXID);
    expect(res.readUInt16BE(26) ^ 0x2112).toBe(myPort);
    expect([...res.subarray(28, 32)].map((b, i) => b ^ [0x21, 0x12, 0xa4, 0x42][i]).join('.')).toBe('127.0.0.1');

    const c = await udpClient();
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), port);
    expect(statusOf(await c.next())).toBe(200);
    await c.close();
    s.close();
    expect(replies).toHaveLength(1); // the CRLFs got no answer

    const metrics = await node.metrics.registry.metrics();
    expect(metrics).toMatch(/^siphon_keepalives_total\{transport="udp",kind="crlf"\} 2$/m);
    expect(metrics).toMatch(/^siphon_keepalives_total\{transport="udp",kind="stun"\} 1$/m);
    expect(metrics).not.toMatch(/^siphon_malformed_messages_total\{/m);
  });

  it('counts an RFC 5626 §4.4.1 CRLFCRLF ping on a stream as a keep-alive (answered with a CRLF pong)', async () => {
    const { connect } = await import('node:net');
    const conn = connect(node.tcp[0].listener.port, '127.0.0.1');
    const pong = new Promise<string>((resolve) => conn.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    conn.write('\r\n\r\n');
    expect(await pong).toBe('\r\n');
    conn.destroy();
    expect(await node.metrics.registry.metrics()).toMatch(/^siphon_keepalives_total\{transport="tcp",kind="crlf"\} 1$/m);
  });
});
