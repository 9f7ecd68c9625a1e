// Mutation fuzzing of the SIP stack: whatever the bytes, only SipParseError may escape parse, the cached
// accessors, validation and serialization. Seeded PRNG, so a failure names a reproducible case.
import { resolve } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import {
  SipMessage, SipParseError, createErrorResponse, formatNameAddr, formatUri, formatVia, parseCSeq, parseMessage, parseNameAddr, parseUri, parseVia, serialize,
} from '../../node/sip/index.js';
import { seeded as prng } from '../helpers/seeded.js';
// Every accessor the proxy, registrar and auth call, each step on its own; only the stack's own
// refusal types may escape (the long campaign drives the same steps).
import { exercise } from './campaign/parser-target.js';

const CASES = Number(process.env.SIP_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.SIP_FUZZ_SEED ?? 0x5eed);

// shared/ sits beside the repository (also in CI's fresh clone); jest runs from the repo root.
const DIR = process.env.SIPHON_SHARED_DIR ? `${process.env.SIPHON_SHARED_DIR}/rfc4475` : resolve(process.cwd(), '../shared/rfc4475');
const corpus: Buffer[] = readdirSync(DIR).filter((f) => f.endsWith('.sip')).sort().map((f) => readFileSync(`${DIR}/${f}`));
corpus.push(Buffer.from([
  'INVITE sip:bob@[2001:db8::1]:5060;transport=tcp SIP/2.0',
  'Via: SIP/2.0/TCP [2001:db8::2]:5060;branch=z9hG4bK1;rport;received=[2001:db8::2]',
  'Max-Forwards: 70', 'To: <tel:+1-555-0100;phone-context=example.com>', 'From: "A \\"B\\"" <sip:a@b>;tag=x',
  'Call-ID: c@d', 'CSeq: 1 INVITE', 'Contact: *', 'Record-Route: <sip:p;lr>, <sip:q;lr>', 'Expires: 3600',
  'Content-Length: 4', '', 'abcd',
].join('\r\n')));

const INSERTS = ['\r\n', '\r\n ', ' ', '\t', '\0', ',', ';', ':', '"', '\\', '<', '>', '@', '%', '%zz', '[', ']', '?', '=',
  '99999999999999999999999999', '-1', '4294967296', 'SIP/2.0', ';tag=', ';branch=z9hG4bK', '\r\n\r\n', 'l: 10\r\n', '\xff\xfe'];

function mutate(rand: () => number): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  let b = Buffer.from(pick(corpus));
  const rounds = 1 + Math.floor(rand() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rand() * (b.length + 1));
    switch (Math.floor(rand() * 8)) {
      case 0: // bit flips
        for (let k = 0; k < 1 + rand() * 8 && b.length > 0; k++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1: // truncation
        b = b.subarray(0, at);
        break;
      case 2: { // splice two messages
        const o = pick(corpus);
        b = Buffer.concat([b.subarray(0, at), o.subarray(Math.floor(rand() * o.length))]);
        break;
      }
      case 3: // token insertion: CRLF, LWS, NUL, separators, huge numbers
        b = Buffer.concat([b.subarray(0, at), Buffer.from(pick(INSERTS), 'latin1'), b.subarray(at)]);
        break;
      case 4: { // delete a range
        const len = Math.floor(rand() * 20);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        break;
      }
      case 5: { // replace a digit run with a huge number
        const s = b.toString('latin1');
        const m = /\d+/g;
        m.lastIndex = at;
        const hit = m.exec(s);
        if (hit !== null) b = Buffer.from(s.slice(0, hit.index) + '184467440737095516160000' + s.slice(hit.index + hit[0].length), 'latin1');
        break;
      }
      case 6: { // duplicate a line
        const s = b.toString('latin1');
        const lines = s.split('\r\n');
        const i = Math.floor(rand() * lines.length);
        lines.splice(i, 0, lines[i]);
        b = Buffer.from(lines.join('\r\n'), 'latin1');
        break;
      }
      default: // random bytes
        for (let k = 0; k < 1 + rand() * 4 && b.length > 0; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    }
  }
  return b;
}

describe('SIP parser fuzz', () => {
  it(`${CASES} mutated messages: only SipParseError escapes`, () => {
    const rand = prng(SEED);
    const started = Date.now();
    const cpu0 = process.cpuUsage();
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < CASES; i++) {
      const input = mutate(rand);
      let m: SipMessage;
      try {
        m = parseMessage(input);
      } catch (e) {
        if (!(e instanceof SipParseError)) throw new Error(`case ${i}: parse threw ${String(e)} for ${input.toString('base64')}`);
        const reply = createErrorResponse(e, { toTag: 'fz' });
        if (reply !== null) serialize(reply);
        rejected++;
        continue;
      }
      parsed++;
      try {
        exercise(m);
      } catch (e) {
        throw new Error(`case ${i}: ${e instanceof Error ? e.stack : String(e)} for ${input.toString('base64')}`);
      }
    }
    const ms = Date.now() - started;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    process.stdout.write(`sip fuzz: ${CASES} cases, ${parsed} parsed, ${rejected} rejected, ${cpuMs} ms CPU, ${ms} ms wall\n`);
    expect(parsed + rejected).toBe(CASES);
    // The mutations must keep a useful share of inputs parseable, or the accessors go unexercised.
    expect(parsed).toBeGreaterThan(CASES / 4);
    // The budget is CPU time: wall time on the shared CI machine depends on what else runs.
    expect(cpuMs).toBeLessThan(60_000);
  }, 240_000);
});

describe('SIP value parser fuzz', () => {
  const SAMPLES = [
    'sip:alice:pw@[2001:db8::1]:5060;transport=tcp;lr?subject=a%20b&x=y', 'tel:+1-201-555-0123;ext=1;phone-context=x',
    '"A \\"q\\"" <sips:bob@biloxi.com;maddr=[::1]>;tag=1;+sip.instance="<urn:x>"', 'SIP / 2.0 / UDP h.example.com:5060;branch=z9hG4bK1;rport;received=1.2.3.4',
    '0009 INVITE', 'caller<sip:caller@example.com>;tag=323',
  ];
  const CHARS = '<>";:,@[]?&=%\\ \t\r\n\0/.sipSIP0123456789abcdefz';

  it('parseUri / parseNameAddr / parseVia / parseCSeq on 30,000 mutated strings: only SipParseError escapes', () => {
    const rand = prng(SEED + 1);
    const parsers: Array<(s: string) => unknown> = [parseUri, parseNameAddr, parseVia, parseCSeq,
      (s) => formatUri(parseUri(s)), (s) => formatNameAddr(parseNameAddr(s)), (s) => formatVia(parseVia(s))];
    for (let i = 0; i < 30_000; i++) {
      let s = SAMPLES[Math.floor(rand() * SAMPLES.length)];
      for (let k = 0; k < 1 + rand() * 4; k++) {
        const at = Math.floor(rand() * (s.length + 1));
        const op = rand();
        if (op < 0.4) s = s.slice(0, at) + CHARS[Math.floor(rand() * CHARS.length)] + s.slice(at);
        else if (op < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 5));
        else if (op < 0.85) s = s.slice(0, at);
        else s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0xffff)) + s.slice(at);
      }
      for (const p of parsers) {
        try {
          p(s);
        } catch (e) {
          if (!(e instanceof SipParseError)) throw new Error(`value case ${i}: ${String(e)} for ${JSON.stringify(s)}`);
        }
      }
    }
  }, 240_000);
});
