/**
 * Structural mutations of SIP messages. Each works on the message as start line + header lines +
 * body (latin1, so every byte survives), picking what real fault-injection suites send: duplicated,
 * removed and compact headers, huge values, numbers out of range, NULs and bare CR/LF, invalid UTF-8,
 * unterminated quotes and brackets, parameter floods, Via floods, truncation, byte noise.
 */
export type Rand = () => number;

export const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

interface Shape {
  start: string;
  headers: string[];
  body: string;
}

function split(msg: Buffer): Shape {
  const s = msg.toString('latin1');
  const end = s.indexOf('\r\n\r\n');
  const head = (end < 0 ? s : s.slice(0, end)).split('\r\n');
  return { start: head[0] ?? '', headers: head.slice(1), body: end < 0 ? '' : s.slice(end + 4) };
}

function join(m: Shape): Buffer {
  return Buffer.from(`${m.start}\r\n${m.headers.join('\r\n')}\r\n\r\n${m.body}`, 'latin1');
}

const COMPACT: Record<string, string> = {
  via: 'v', from: 'f', to: 't', 'call-id': 'i', contact: 'm', 'content-length': 'l', 'content-type': 'c',
  subject: 's', supported: 'k', 'content-encoding': 'e', event: 'o', 'refer-to': 'r',
};

const NUMBERS = ['4294967296', '4294967295', '-1', '0', '999', '18446744073709551616', '9007199254740993', '1e3', '0x10',
  '00000000000000000000000000001', '', ' ', '1.5', '+5', '99999999999999999999999999999999999999'];
const UTF8_GARBAGE = ['\xc3\x28', '\xa0\xa1', '\xe2\x28\xa1', '\xf0\x28\x8c\xbc', '\xf8\xa1\xa1\xa1\xa1', '\xc0\xaf', '\xed\xa0\x80',
  '\xef\xbb\xbf', '\xff\xfe\xfd', '\xe2\x80\xae'];
const SPECIALS = ['\0', '\r', '\n', '\r\n', '\r\n ', '\t', '"', '<', '>', '\\', '%', '%0', '%zz', ';', ',', '=', ':', '@', '[', ']', '?', '&', '\x7f'];
const HEADERS_OF_INTEREST = ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Length', 'Route',
  'Record-Route', 'Path', 'Authorization', 'Proxy-Authorization', 'Expires', 'Require', 'Proxy-Require', 'Supported', 'Content-Type'];

/** A value that grows with `n`: parameter floods, nesting, escapes, quotes: the super-linear hunters. */
export const GROWERS: ReadonlyArray<{ name: string; unit: (rand: Rand) => string }> = [
  { name: 'params', unit: () => ';x' },
  { name: 'params-valued', unit: () => ';x=y' },
  { name: 'params-quoted', unit: () => ';x="a\\"b"' },
  { name: 'semicolons', unit: () => ';' },
  { name: 'commas', unit: () => ',' },
  { name: 'angle-open', unit: () => '<' },
  { name: 'angle-pairs', unit: () => '<>' },
  { name: 'quotes', unit: () => '"' },
  { name: 'escaped-quotes', unit: () => '\\"' },
  { name: 'percent', unit: () => '%41' },
  { name: 'bad-percent', unit: () => '%' },
  { name: 'brackets', unit: () => '[' },
  { name: 'colons', unit: () => ':' },
  { name: 'at-signs', unit: () => '@' },
  { name: 'lws', unit: () => ' \t' },
  { name: 'folds', unit: () => '\r\n ' },
  { name: 'vias', unit: () => ', SIP/2.0/UDP h;branch=z9hG4bKx' },
  { name: 'contacts', unit: () => ', <sip:a@b>;q=0.5' },
  { name: 'auth-params', unit: () => ', a="b"' },
  { name: 'equals', unit: () => '=' },
  { name: 'question', unit: () => '?a=b&' },
];

/**
 * `msg` with `n` units of `grower` added at one place: the end of header `headerIndex` (modulo the
 * header count), the middle of it when `where` is 'middle', the Request-URI's end when 'uri', or as
 * `n` whole header lines when 'lines'.
 */
export function grow(rand: Rand, msg: Buffer, grower: { unit: (rand: Rand) => string }, n: number, headerIndex: number,
  where: 'end' | 'middle' | 'uri' | 'lines' = 'end'): Buffer {
  const m = split(msg);
  if (m.headers.length === 0) m.headers.push('X-Grow: ');
  const i = headerIndex % m.headers.length;
  const unit = grower.unit(rand);
  if (where === 'uri' && !m.start.startsWith('SIP/')) {
    const parts = m.start.split(' ');
    if (parts.length >= 2) parts[1] += unit.repeat(n);
    m.start = parts.join(' ');
  } else if (where === 'lines') {
    const name = m.headers[i].slice(0, Math.max(0, m.headers[i].indexOf(':'))) || 'X-Grow';
    m.headers.splice(i, 0, ...Array.from({ length: n }, () => `${name}: ${unit}`));
  } else if (where === 'middle') {
    const h = m.headers[i];
    const at = Math.floor(h.length / 2) + 1;
    m.headers[i] = h.slice(0, at) + unit.repeat(n) + h.slice(at);
  } else m.headers[i] += unit.repeat(n);
  return join(m);
}

function mutateOnce(rand: Rand, b: Buffer, corpus: readonly Buffer[]): Buffer {
  const m = split(b);
  const hi = (): number => int(rand, Math.max(1, m.headers.length));
  const findHeader = (name: string): number => {
    const lower = name.toLowerCase();
    const c = COMPACT[lower];
    return m.headers.findIndex((h) => {
      const n = h.slice(0, h.indexOf(':')).trim().toLowerCase();
      return n === lower || (c !== undefined && n === c);
    });
  };
  const valueOf = (name: string): number => {
    const i = findHeader(name);
    if (i >= 0) return i;
    m.headers.splice(hi(), 0, `${name}: `);
    return findHeader(name);
  };
  const setValue = (i: number, v: string): void => {
    const h = m.headers[i] ?? '';
    const colon = h.indexOf(':');
    m.headers[i] = `${colon < 0 ? h : h.slice(0, colon)}: ${v}`;
  };
  const insertAt = (s: string, what: string): string => {
    const at = int(rand, s.length + 1);
    return s.slice(0, at) + what + s.slice(at);
  };
  switch (int(rand, 22)) {
    case 0: if (m.headers.length > 0) { const i = hi(); m.headers.splice(i, 0, m.headers[i]); } break;
    case 1: if (m.headers.length > 0) m.headers.splice(hi(), 1); break;
    case 2: { // remove a specific header the stack depends on
      const i = findHeader(pick(rand, HEADERS_OF_INTEREST));
      if (i >= 0) m.headers.splice(i, 1);
      break;
    }
    case 3: { // huge value
      const i = valueOf(pick(rand, HEADERS_OF_INTEREST));
      m.headers[i] += pick(rand, ['a', 'x;', '%41', ' ', ',', '"q"']).repeat(1 + int(rand, 20_000));
      break;
    }
    case 4: { // bad numbers
      const which = pick(rand, ['CSeq', 'Content-Length', 'Max-Forwards', 'Expires', 'Via-port', 'RURI-port', 'Contact-expires', 'Contact-port', 'status']);
      const n = pick(rand, NUMBERS);
      if (which === 'CSeq') setValue(valueOf('CSeq'), `${n} ${pick(rand, ['INVITE', 'REGISTER', 'OPTIONS', 'ACK', 'FOO'])}`);
      else if (which === 'Content-Length') {
        const len = Buffer.byteLength(m.body, 'latin1');
        setValue(valueOf('Content-Length'), pick(rand, [n, String(len + 1 + int(rand, 100)), String(Math.max(0, len - 1 - int(rand, 10))), String(len)]));
      } else if (which === 'Max-Forwards') setValue(valueOf('Max-Forwards'), pick(rand, ['999', '256', n]));
      else if (which === 'Expires') setValue(valueOf('Expires'), n);
      else if (which === 'Via-port') { const i = valueOf('Via'); m.headers[i] = m.headers[i].replace(/(\d+\.\d+\.\d+\.\d+|\])(:\d+)?/, `$1:${n}`); }
      else if (which === 'RURI-port') m.start = m.start.replace(/@([^ ;>]+?)(:\d+)?([; ])/, `@$1:${n}$3`);
      else if (which === 'Contact-expires') { const i = valueOf('Contact'); m.headers[i] += `;expires=${n}`; }
      else if (which === 'Contact-port') { const i = valueOf('Contact'); m.headers[i] = m.headers[i].replace(/@([^:;>]+)(:\d+)?([;>])/, `@$1:${n}$3`); }
      else if (m.start.startsWith('SIP/')) m.start = `SIP/2.0 ${n} X`;
      break;
    }
    case 5: { // NUL, bare CR/LF or any special byte inside a header or the start line
      const what = pick(rand, SPECIALS);
      if (rand() < 0.25) m.start = insertAt(m.start, what);
      else if (m.headers.length > 0) { const i = hi(); m.headers[i] = insertAt(m.headers[i], what); }
      break;
    }
    case 6: { // invalid UTF-8
      const what = pick(rand, UTF8_GARBAGE);
      if (rand() < 0.2) m.start = insertAt(m.start, what);
      else if (rand() < 0.2) m.body = insertAt(m.body, what);
      else if (m.headers.length > 0) { const i = hi(); m.headers[i] = insertAt(m.headers[i], what); }
      break;
    }
    case 7: { // unterminated quote / angle bracket in an address header
      const i = valueOf(pick(rand, ['From', 'To', 'Contact', 'Route', 'Record-Route', 'Path', 'Authorization', 'Via']));
      m.headers[i] = insertAt(m.headers[i], pick(rand, ['"', '<', '>', '\\', '"\\', '<"', '[']));
      break;
    }
    case 8: { // deeply nested / many params
      const i = valueOf(pick(rand, ['Via', 'Contact', 'To', 'From', 'Route']));
      const g = pick(rand, GROWERS);
      m.headers[i] += g.unit(rand).repeat(1 + int(rand, 3000));
      break;
    }
    case 9: { // many Vias
      const n = 1 + int(rand, 2000);
      const vias = Array.from({ length: n }, (_, k) => `Via: SIP/2.0/UDP 192.0.2.${k % 250}:${5060 + (k % 100)};branch=z9hG4bK-f${k}`);
      if (rand() < 0.5) m.headers.splice(0, 0, ...vias);
      else m.headers.splice(0, 0, `Via: ${vias.map((v) => v.slice(5)).join(', ')}`);
      break;
    }
    case 10: return join(m).subarray(0, int(rand, b.length + 1)); // truncation
    case 11: { // compact <-> full names, odd case
      if (m.headers.length === 0) break;
      const i = hi();
      const h = m.headers[i];
      const colon = h.indexOf(':');
      const name = h.slice(0, Math.max(0, colon)).trim().toLowerCase();
      const c = COMPACT[name];
      if (c !== undefined && rand() < 0.5) m.headers[i] = c + h.slice(colon);
      else m.headers[i] = (rand() < 0.5 ? h.slice(0, colon).toUpperCase() : h.slice(0, colon) + ' \t ') + h.slice(colon);
      break;
    }
    case 12: { // folding
      if (m.headers.length === 0) break;
      const i = hi();
      const sp = m.headers[i].indexOf(' ', m.headers[i].indexOf(':'));
      if (sp > 0) m.headers[i] = `${m.headers[i].slice(0, sp)}\r\n${pick(rand, [' ', '\t', '  \t'])}${m.headers[i].slice(sp + 1)}`;
      break;
    }
    case 13: { // response on an unknown branch / request <-> response start lines
      if (m.start.startsWith('SIP/')) {
        const i = valueOf('Via');
        m.headers[i] = m.headers[i].replace(/branch=[^;,\s]*/i, `branch=z9hG4bK-unknown-${int(rand, 1e9)}`);
      } else {
        m.start = `SIP/2.0 ${pick(rand, ['100 Trying', '180 Ringing', '200 OK', '487 Request Terminated', '603 Decline', '999 Nine', '099 Low'])}`;
      }
      break;
    }
    case 14: { // start line damage
      const parts = m.start.split(' ');
      const op = int(rand, 5);
      if (op === 0) parts[int(rand, parts.length)] = '';
      else if (op === 1) parts.splice(int(rand, parts.length), 1);
      else if (op === 2) parts.splice(int(rand, parts.length + 1), 0, pick(rand, ['SIP/2.0', 'SIP/3.0', 'sip:x@y', '<sip:x@y>', 'INVITE', 'x'.repeat(5000)]));
      else if (op === 3) m.start = m.start.replace(/SIP\/2\.0/i, pick(rand, ['SIP/2.1', 'SIP/20', 'SIP/', 'HTTP/1.1', 'SIP/2.0 ', 'sip/2.0']));
      else m.start = pick(rand, ['GET / HTTP/1.1', 'PRI * HTTP/2.0', '\x16\x03\x01\x02\x00', '', ' ', 'INVITE']);
      m.start = parts.length > 0 && op < 3 ? parts.join(' ') : m.start;
      break;
    }
    case 15: { // splice with another corpus message (pipelining-like)
      const o = pick(rand, corpus);
      return Buffer.concat([join(m).subarray(0, int(rand, b.length + 1)), o.subarray(int(rand, o.length))]);
    }
    case 16: { // byte noise
      const out = join(m);
      for (let k = 0; k < 1 + int(rand, 8) && out.length > 0; k++) {
        const at = int(rand, out.length);
        out[at] = rand() < 0.5 ? out[at] ^ (1 << int(rand, 8)) : int(rand, 256);
      }
      return out;
    }
    case 17: { // a header line without a colon, an empty name, a name with separators, a unique (long) name
      if (rand() < 0.5) {
        const name = `X-${Math.floor(rand() * 1e9).toString(36)}${'n'.repeat(rand() < 0.5 ? int(rand, 60) : int(rand, 60_000))}`;
        m.headers.splice(hi(), 0, `${name}: v`);
      } else m.headers.splice(hi(), 0, pick(rand, ['NoColonHere', ': empty-name', 'Bad Name: x', 'X-\x01: y', ' : ', 'Via:', 'To:', 'CSeq:']));
      break;
    }
    case 18: { // Contact forms the registrar must judge
      const i = valueOf('Contact');
      setValue(i, pick(rand, ['*', '*, <sip:a@b>', '<sip:a@b>;expires=0, *', '<sip:a@b>;q=1.5', '<sip:a@b>;q=-1', '<sip:a@b>;q=', '<urn:x>',
        '<sip:a@b>;+sip.instance="<urn:uuid:x', '<sip:a@b>;reg-id=99999999999999999999', 'sip:a@b;x=y?z', '<>', '<sip:>', '<sip:@b>', '<sips:a@[::1>']));
      break;
    }
    case 19: { // Authorization forms auth must judge
      const i = valueOf(pick(rand, ['Authorization', 'Proxy-Authorization']));
      setValue(i, pick(rand, ['Digest', 'Digest ', 'Digest ,,,,', 'Digest username=', 'Digest username="a', 'Digest a=b,c', 'Digest =x',
        'Digest username="\\"\\\\", realm=, nonce=""', 'Basic', 'Bearer x.y.z', 'Digest response="' + 'f'.repeat(5000) + '"',
        'Digest nc=zzzzzzzz, qop=auth-int, algorithm=SHA-512-256, uri="sip:\x00"', 'digest USERNAME="A"']));
      break;
    }
    case 20: { // body / Content-Length vs pipelined extra message
      if (rand() < 0.5) m.body += m.body.length > 0 ? m.body : 'extra';
      else m.body = '';
      break;
    }
    default: { // Route/Record-Route/Path forms
      const i = valueOf(pick(rand, ['Route', 'Record-Route', 'Path']));
      setValue(i, pick(rand, ['<sip:x;lr>', '<sip:x;lr', 'sip:x;lr', '<tel:+1>', '<sip:[::1];lr>, <sip:[', '<sip:x;lr>,,<sip:y;lr>', ',', '<sip:x;maddr=;lr>',
        '<sip:x:99999;lr>', '<sip:x:;lr>', '<sip:%>', `<sip:${'a.'.repeat(3000)}b;lr>`]));
    }
  }
  return join(m);
}

/** One to four structural mutations of a corpus message. */
export function mutate(rand: Rand, corpus: readonly Buffer[]): Buffer {
  let b: Buffer = Buffer.from(pick(rand, corpus));
  const rounds = 1 + int(rand, 4);
  for (let r = 0; r < rounds; r++) b = mutateOnce(rand, b, corpus);
  return b;
}
