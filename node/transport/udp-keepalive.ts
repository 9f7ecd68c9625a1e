// Keep-alives arriving on a SIP UDP port, recognised before the SIP parser sees them:
//
// - STUN Binding requests (RFC 5626 §4.4.2, §8.4): an outbound UA keeps its UDP flow (and its NAT
//   binding) alive with them, and reads the mapped address in the answer to notice a NAT rebinding.
//   An edge proxy or registrar that accepts outbound registrations MUST answer them on its SIP
//   ports. Answered with a Binding success response carrying XOR-MAPPED-ADDRESS (RFC 5389 §15.2), or
//   MAPPED-ADDRESS for a classic RFC 3489 request without the magic cookie (RFC 5389 §12.2).
// - CRLF datagrams: many UAs (pjsip, Linphone, most desk phones) send "\r\n\r\n" or "\r\n" to the
//   registrar to keep a NAT binding open. Not SIP and not an error: dropped without an answer, and
//   counted as a keep-alive rather than as a malformed message.
//
// A SIP message starts with a letter (a method or "SIP/2.0"), STUN with 0x00/0x01 and a CRLF
// keep-alive with CR or LF, so one byte decides on the hot path (`mayBeKeepAlive`).
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';

export type KeepAlive =
  | { readonly kind: 'crlf' }
  | { readonly kind: 'stun'; readonly cookie: boolean; readonly id: Buffer; readonly fingerprint: boolean };

const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const MAPPED_ADDRESS = 0x0001;
const XOR_MAPPED_ADDRESS = 0x0020;
const FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;

/** Whether a datagram's first byte rules out SIP's start line (the only test on the hot path). */
export function mayBeKeepAlive(datagram: Buffer): boolean {
  return datagram.length > 0 && datagram[0] < 0x20;
}

/**
 * The keep-alive a datagram is, or null (then it goes to the SIP parser as before). A STUN message
 * other than a well-formed Binding request, or one with a comprehension-required attribute this
 * server does not implement (MESSAGE-INTEGRITY, USERNAME, …: RFC 5626 keep-alives carry none), is
 * not answered: it is also not SIP, and the parser rejects it as malformed.
 */
export function keepAliveOf(datagram: Buffer): KeepAlive | null {
  if (isCrlfOnly(datagram)) return { kind: 'crlf' };
  if (datagram.length < HEADER || datagram[0] > 0x01) return null;
  const type = datagram.readUInt16BE(0);
  const length = datagram.readUInt16BE(2);
  if (type !== BINDING_REQUEST || length !== datagram.length - HEADER || length % 4 !== 0) return null;
  const cookie = datagram.readUInt32BE(4) === MAGIC_COOKIE;
  let fingerprint = false;
  for (let at = HEADER; at < datagram.length; ) {
    if (at + 4 > datagram.length) return null;
    const attr = datagram.readUInt16BE(at);
    const len = datagram.readUInt16BE(at + 2);
    const end = at + 4 + len;
    if (end > datagram.length) return null;
    if (attr === FINGERPRINT) {
      // RFC 5389 §15.5: last attribute, CRC-32 of everything before it XOR 0x5354554e.
      if (len !== 4 || end !== datagram.length) return null;
      if (((crc32(datagram.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0) !== datagram.readUInt32BE(at + 4)) return null;
      fingerprint = true;
    } else if (attr < 0x8000) {
      return null;
    }
    at = end + ((4 - (len % 4)) % 4);
  }
    // Bytes 4..19: the magic cookie and transaction ID, or RFC 3489's 128-bit transaction ID.
  return { kind: 'stun', cookie, id: Buffer.from(datagram.subarray(4, HEADER)), fingerprint };
}

function isCrlfOnly(datagram: Buffer): boolean {
  if (datagram.length === 0 || datagram.length > 64) return false;
  for (let i = 0; i < datagram.length; i++) {
    const b = datagram[i];
    if (b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}

/**
 * The Binding success response to `request`, telling the sender the transport address we saw it
 * from. With the magic cookie the address is XOR-ed (so a NAT rewriting addresses in payloads
 * cannot touch it); the response carries FINGERPRINT when the request did.
 */
export function stunBindingResponse(request: Extract<KeepAlive, { kind: 'stun' }>, address: string, port: number): Buffer | null {
  // A dual-stack socket reports an IPv4 sender as ::ffff:a.b.c.d: the UA knows itself by the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const seen = mapped !== null ? mapped[1] : address;
  const v4 = isIPv4(seen);
  const raw = v4 ? ipv4Bytes(seen) : ipv6Bytes(seen);
  if (raw === null) return null;
  const attrLen = 4 + raw.length;
  const total = HEADER + 4 + attrLen + (request.fingerprint ? 8 : 0);
  const out = Buffer.alloc(total);
  out.writeUInt16BE(BINDING_SUCCESS, 0);
  out.writeUInt16BE(total - HEADER, 2);
  // The request's bytes 4..19 (cookie + transaction ID, or RFC 3489's longer transaction ID) come back unchanged.
  request.id.copy(out, 4);
  let at = HEADER;
  out.writeUInt16BE(request.cookie ? XOR_MAPPED_ADDRESS : MAPPED_ADDRESS, at);
  out.writeUInt16BE(attrLen, at + 2);
  out[at + 4] = 0;
  out[at + 5] = v4 ? 0x01 : 0x02;
  if (request.cookie) {
    out.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), at + 6);
    // RFC 5389 §15.2: the address XOR the cookie (IPv4), or the cookie and transaction ID (IPv6).
    const key = out.subarray(4, 4 + raw.length);
    for (let i = 0; i < raw.length; i++) out[at + 8 + i] = raw[i] ^ key[i];
  } else {
    out.writeUInt16BE(port, at + 6);
    raw.copy(out, at + 8);
  }
  at += 4 + attrLen;
  if (request.fingerprint) {
    out.writeUInt16BE(FINGERPRINT, at);
    out.writeUInt16BE(4, at + 2);
    out.writeUInt32BE((crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0, at + 4);
  }
  return out;
}

function ipv4Bytes(address: string): Buffer | null {
  const parts = address.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? Buffer.from(parts) : null;
}

function ipv6Bytes(address: string): Buffer | null {
  // An IPv4-mapped address from a dual-stack socket is written with a dotted tail.
  const zone = address.indexOf('%');
  let text = zone >= 0 ? address.slice(0, zone) : address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted !== null) {
    const v4 = ipv4Bytes(dotted[1]);
    if (v4 === null) return null;
    tail = [...v4];
    text = text.slice(0, -dotted[1].length) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const all = [...head, ...Array<string>(fill).fill('0'), ...rest];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return null;
    out.writeUInt16BE(parseInt(all[i], 16), i * 2);
  }
  if (tail.length === 4) Buffer.from(tail).copy(out, 12);
  return out;
}
