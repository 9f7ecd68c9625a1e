/**
 * Seed messages for the fuzz campaign: the RFC 4475 torture messages byte-exact, plus valid messages
 * of every shape the node handles (REGISTER with credentials and Path, INVITE with SDP and multipart
 * bodies, IPv6, compact headers, long headers, responses on unknown branches). Mutations start from
 * these so most mutants are still almost-SIP and reach the deep parsers, not just the start line.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/rfc4475 beside the repository (from sources and from dist/ alike), or SIPHON_SHARED_DIR. */
export function rfc4475Dir(): string {
  if (process.env.SIPHON_SHARED_DIR) return join(process.env.SIPHON_SHARED_DIR, 'rfc4475');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return resolve(dir, '..', 'shared', 'rfc4475');
    dir = dirname(dir);
  }
  return resolve(process.cwd(), '..', 'shared', 'rfc4475');
}

export function withLength(head: readonly string[], body = ''): string {
  return `${head.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n';
const MULTIPART = [
  '--b1', 'Content-Type: application/sdp', '', SDP, '--b1', 'Content-Type: application/pidf+xml', 'Content-ID: <x@y>', '',
  '<?xml version="1.0"?><presence entity="sip:a@b"/>', '--b1--', '',
].join('\r\n');

/** Valid messages for `host:port` (the live target addresses the server under test). */
export function validMessages(host = 'example.com', port = 5060): string[] {
  const h = `${host}:${port}`;
  return [
    withLength([
      `REGISTER sip:${host} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-reg1;rport', 'Max-Forwards: 70',
      `From: "Alice" <sip:alice@${host}>;tag=r1`, `To: <sip:alice@${host}>`, 'Call-ID: reg-1@192.0.2.10', 'CSeq: 1 REGISTER',
      'Contact: <sip:alice@192.0.2.10:5070;transport=udp>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=1',
      'Supported: path, outbound, gruu', 'Path: <sip:edge.example.net;lr;ob>',
      `Authorization: Digest username="alice", realm="${host}", nonce="abc123", uri="sip:${host}", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz"`,
      'Expires: 3600', 'User-Agent: fuzz/1',
    ]),
    withLength([
      `INVITE sip:bob@${h};transport=udp SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-inv1;rport',
      'Max-Forwards: 70', `From: <sip:alice@${host}>;tag=i1`, `To: "Bob" <sip:bob@${host}>`, 'Call-ID: inv-1@192.0.2.10',
      'CSeq: 1 INVITE', 'Contact: <sip:alice@192.0.2.10:5070>', `Route: <sip:${h};lr>`, 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS',
      'Supported: timer, 100rel', 'Session-Expires: 1800;refresher=uac', 'Content-Type: application/sdp',
    ], SDP),
    withLength([
      `INVITE sip:carol@${h} SIP/2.0`, 'v: SIP/2.0/TCP 192.0.2.11:5071;branch=z9hG4bK-mp1', 'Max-Forwards: 70',
      `f: <sip:dave@${host}>;tag=m1`, `t: <sip:carol@${host}>`, 'i: mp-1@192.0.2.11', 'CSeq: 7 INVITE', 'm: <sip:dave@192.0.2.11:5071;transport=tcp>',
      'c: multipart/mixed;boundary=b1', 'k: 100rel', 'Mime-Version: 1.0',
    ], MULTIPART),
    withLength([
      'INVITE sip:bob@[2001:db8::1]:5060;transport=tcp SIP/2.0',
      'Via: SIP/2.0/TCP [2001:db8::2]:5060;branch=z9hG4bK-v6;rport;received=[2001:db8::2]', 'Max-Forwards: 70',
      'To: <tel:+1-555-0100;phone-context=example.com>', 'From: "A \\"B\\"" <sip:a@[2001:db8::2]>;tag=x6', 'Call-ID: v6@d',
      'CSeq: 1 INVITE', 'Contact: <sip:a@[2001:db8::2]:5060;transport=tcp>', 'Record-Route: <sip:p1.example.com;lr>, <sip:[2001:db8::9];lr>',
    ]),
    withLength([
      `OPTIONS sip:${h} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.12:5072;branch=z9hG4bK-opt1;rport', 'Max-Forwards: 70',
      `From: <sip:ping@${host}>;tag=o1`, `To: <sip:${h}>`, 'Call-ID: opt-1@192.0.2.12', 'CSeq: 1 OPTIONS', 'Accept: application/sdp',
    ]),
    withLength([
      `MESSAGE sip:bob@${h} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.13:5073;branch=z9hG4bK-msg1', 'Max-Forwards: 70',
      `From: <sip:alice@${host}>;tag=g1`, `To: <sip:bob@${host}>`, 'Call-ID: msg-1@192.0.2.13', 'CSeq: 1 MESSAGE',
      `X-Long: ${'a'.repeat(3000)}`, `Subject: ${'long subject '.repeat(200)}`, 'Content-Type: text/plain;charset=utf-8',
    ], 'h\u00e9llo \u4e16\u754c'),
    withLength([
      'SIP/2.0 200 OK', 'Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-unknown-branch-7;received=192.0.2.20;rport=5060',
      'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-inv1;rport', `Record-Route: <sip:${h};lr>`,
      `From: <sip:alice@${host}>;tag=i1`, `To: "Bob" <sip:bob@${host}>;tag=b1`, 'Call-ID: inv-1@192.0.2.10', 'CSeq: 1 INVITE',
      'Contact: <sip:bob@192.0.2.30:5080>', 'Content-Type: application/sdp',
    ], SDP),
    withLength([
      'SIP/2.0 180 Ringing', 'Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKnotours', `From: <sip:x@${host}>;tag=1`,
      `To: <sip:y@${host}>;tag=2`, 'Call-ID: stray@x', 'CSeq: 9 INVITE',
    ]),
    withLength([
      'SIP/2.0 401 Unauthorized', 'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-reg1;rport=5070;received=192.0.2.10',
      `From: "Alice" <sip:alice@${host}>;tag=r1`, `To: <sip:alice@${host}>;tag=s1`, 'Call-ID: reg-1@192.0.2.10', 'CSeq: 1 REGISTER',
      `WWW-Authenticate: Digest realm="${host}", nonce="n1", algorithm=MD5, qop="auth"`,
    ]),
  ];
}

export function loadCorpus(host?: string, port?: number): Buffer[] {
  const dir = rfc4475Dir();
  const torture = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sip')).sort().map((f) => readFileSync(join(dir, f))) : [];
  return [...torture, ...validMessages(host, port).map((m) => Buffer.from(m, 'utf8'))];
}
