// Semantic fuzzing of the whole node: the real dispatcher, transactions, registrar, proxy and default
// script, fed call flows whose headers are mutated into values that still parse but are odd (a tel:
// Route, Contact params galore, Max-Forwards 0, a CSeq method that does not match, a Via over SCTP,
// responses with any status, a To-tag missing...). The parser fuzz proves bytes cannot break parsing;
// this proves parsed-but-strange input cannot break the logic behind it: no handler may throw (the
// dispatcher would drop the message and a caller would retransmit into a transaction that never
// answers), no error may be logged, and the node must still serve a clean REGISTER and call at the
// end. Seeded: a failure names its case and reproduces with SIP_FLOW_FUZZ_SEED.
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../config/index.js';
import { startSipApp, startingRoute, type SipApp } from '../../node/app/index.js';
import { startSipNode, type SipNode } from '../../node/core/index.js';
import type { Endpoint, MessageSource } from '../../node/transport/index.js';
import { seeded } from '../helpers/seeded.js';

const CASES = Number(process.env.SIP_FLOW_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.SIP_FLOW_FUZZ_SEED ?? 0xf10e);

const CALLER: Endpoint = { address: '127.0.0.2', port: 5061 };
const CALLEE: Endpoint = { address: '127.0.0.3', port: 5062 };
const CALLEE_TCP: Endpoint = { address: '127.0.0.4', port: 5063 };

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

interface Sent {
  readonly text: string;
  readonly dest: Endpoint;
}

// Values each still parse as their header's grammar allows (or are plain tokens), chosen to walk the
// branches of routing, registrar and transaction logic rather than the parser's.
const URIS = [
  'sip:bob@HOST', 'sip:bob@HOST;transport=tcp', 'sips:bob@HOST', 'sip:HOST', 'sip:HOST;lr', 'sip:bob@HOST:0',
  'sip:bob@HOST:65535', 'sip:bob@127.0.0.3:5062', 'sip:bob@[::1]:5062', 'sip:bob@example.com', 'tel:+15550100',
  'tel:+1-555-0100;phone-context=example.com', 'urn:service:sos', 'sip:%61lice@HOST', 'sip:bob@HOST;maddr=127.0.0.9',
  'sip:bob@HOST;transport=sctp', 'sip:bob@HOST;transport=ws', 'sip:bob@HOST;gr=urn:uuid:f81d4fae', 'sip:bob@HOST;ob',
  'sip:bob@HOST?Subject=x&Route=%3Csip:evil%3E', 'sip:alice@HOST', 'sip:nobody@HOST', 'sip:bob@localhost',
  'sip:bob:secret@HOST', 'sip:bob@127.0.0.1:1', 'sip:bob@HOST;method=INVITE', 'sip:127.0.0.3:5062;lr',
];
const NAME_ADDRS = (uri: string): string[] => [`<${uri}>`, `"Bob \\"B\\"" <${uri}>`, `${uri}`, `<${uri}>;tag=x`, `<${uri}>;expires=0`];
const HEADER_VALUES: Record<string, readonly string[]> = {
  'Max-Forwards': ['0', '1', '70', '255', '4294967295', '99999999999'],
  Expires: ['0', '1', '59', '60', '3600', '4294967295', '99999999999999'],
  CSeq: ['1 INVITE', '2 BYE', '1 REGISTER', '0 ACK', '4294967295 INVITE', '1 CANCEL', '7 OPTIONS', '1 FOO', '2147483648 BYE'],
  Via: [
    'SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bKfz1;rport', 'SIP/2.0/TCP 127.0.0.2:5061;branch=z9hG4bKfz2',
    'SIP/2.0/TLS 127.0.0.2:5061;branch=z9hG4bKfz3', 'SIP/2.0/SCTP 127.0.0.2:5061;branch=z9hG4bKfz4',
    'SIP/2.0/WS abc.invalid;branch=z9hG4bKfz5', 'SIP/2.0/UDP [::1]:5061;branch=z9hG4bKfz6;received=127.0.0.9',
    'SIP/2.0/UDP 127.0.0.2;branch=1234', 'SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bKfz7;maddr=224.0.0.1;ttl=1',
    'SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bKfz8;rport=1;received=::1', 'SIP/2.0/UDP HOST;branch=z9hG4bKloop',
    'SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bKa, SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKb',
  ],
  Contact: [
    '*', '<sip:bob@127.0.0.3:5062>;expires=0', '<sip:bob@127.0.0.3:5062>;q=0.5, <sip:bob@127.0.0.4:5063;transport=tcp>;q=1.0',
    '<sip:bob@127.0.0.3:5062>;q=2', '<sip:bob@127.0.0.3:5062>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=1',
    '<sip:bob@127.0.0.3:5062>;reg-id=1', '<sip:bob@127.0.0.3:5062>;expires=99999999999;X-Odd=1;audio;video="<v>"',
    '<tel:+15550100>', '<sip:bob@[::1]:5062>', '<sips:bob@127.0.0.3:5062>', '<sip:HOST>', '<sip:bob@127.0.0.3:5062;gr>',
    '"x" <sip:bob@127.0.0.3:5062>;methods="INVITE,BYE"', '<urn:uuid:1>',
  ],
  Route: ['<sip:HOST;lr>', '<sip:HOST>', '<sip:127.0.0.3:5062;lr>', '<tel:+1555>', '<sip:HOST;lr>, <sip:127.0.0.9;lr>', '<sip:HOST;lr;r2=on>', '<sips:HOST;lr>', '<sip:[::1];lr>'],
  'Record-Route': ['<sip:127.0.0.9;lr>', '<sip:HOST;lr>', '<tel:+1>', '<sip:127.0.0.9>, <sip:127.0.0.8;lr>'],
  Path: ['<sip:127.0.0.9;lr>', '<sip:127.0.0.9;lr;ob>', '<tel:+1>'],
  Require: ['100rel', 'path', 'outbound', 'gruu', 'unknown-ext', 'timer'],
  'Proxy-Require': ['foo', 'sec-agree'],
  Supported: ['path, outbound, gruu', '100rel', 'timer'],
  Authorization: [
    'Digest username="bob", realm="siphon", nonce="abc", uri="sip:HOST", response="00000000000000000000000000000000"',
    'Digest username="bob", nonce="", qop=auth, nc=00000001, cnonce="x", response="1"', 'Basic Ym9iOmJvYg==', 'Digest',
  ],
  'Content-Type': ['application/sdp', 'multipart/mixed;boundary=x', 'text/plain'],
  Event: ['presence', 'reg', 'dialog;id=1'],
  'Subscription-State': ['active;expires=60', 'terminated;reason=timeout'],
  'Session-Expires': ['90', '1800;refresher=uac', '0'],
  'Min-SE': ['90', '0'],
  'Refer-To': ['<sip:carol@HOST>', '<sip:carol@HOST?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>'],
  'P-Asserted-Identity': ['<sip:bob@HOST>', '<tel:+1>'],
  Replaces: ['abc;to-tag=1;from-tag=2'],
  RAck: ['1 1 INVITE', '0 0 FOO'],
  RSeq: ['1', '4294967295'],
};
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'MESSAGE', 'INFO', 'SUBSCRIBE', 'NOTIFY', 'PRACK', 'UPDATE', 'REFER', 'PUBLISH', 'FOO'];
const STATUSES = [100, 101, 180, 181, 182, 183, 199, 200, 202, 299, 300, 301, 302, 305, 380, 400, 401, 403, 404, 407, 408, 415, 420, 423, 480, 481, 482, 483, 486, 487, 488, 491, 500, 503, 504, 600, 603, 604, 606, 699];

function headerLines(text: string): { start: string; headers: string[]; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end).split('\r\n');
  return { start: head[0], headers: head.slice(1), body: text.slice(end + 4) };
}

function join(start: string, headers: readonly string[], body: string): Buffer {
  const hs = headers.filter((h) => !/^(content-length|l)\s*:/i.test(h));
  return Buffer.from(`${start}\r\n${hs.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** One to three header-level mutations, each keeping the message parseable in the common case. */
function mutate(rand: Rand, msg: Buffer, host: string): Buffer {
  const sub = (v: string): string => v.replace(/HOST/g, host);
  const { start, headers, body } = headerLines(msg.toString('latin1'));
  let first = start;
  const hs = [...headers];
  const rounds = 1 + Math.floor(rand() * 3);
  for (let r = 0; r < rounds; r++) {
    const op = rand();
    if (op < 0.2 && hs.length > 0) {
      hs.splice(Math.floor(rand() * hs.length), 1);
    } else if (op < 0.3 && hs.length > 0) {
      const i = Math.floor(rand() * hs.length);
      hs.splice(i, 0, hs[i]);
    } else if (op < 0.75) {
      const name = pick(rand, Object.keys(HEADER_VALUES));
      const value = name === 'Route' || name === 'Record-Route' || name === 'Path' || name === 'Contact' || rand() < 0.8
        ? sub(pick(rand, HEADER_VALUES[name]))
        : sub(pick(rand, NAME_ADDRS(pick(rand, URIS))));
      const at = hs.findIndex((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
      if (at >= 0 && rand() < 0.7) hs[at] = `${name}: ${value}`;
      else hs.splice(Math.floor(rand() * (hs.length + 1)), 0, `${name}: ${value}`);
    } else if (op < 0.85) {
      const name = pick(rand, ['From', 'To']);
      const at = hs.findIndex((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
      const tag = rand() < 0.5 ? `;tag=f${Math.floor(rand() * 1e6)}` : '';
      const value = `${sub(pick(rand, NAME_ADDRS(pick(rand, URIS))).replace(/;tag=x|;expires=0/, ''))}${tag}`;
      if (at >= 0) hs[at] = `${name}: ${value}`;
    } else if (first.startsWith('SIP/2.0 ')) {
      first = `SIP/2.0 ${pick(rand, STATUSES)} Fuzzed`;
    } else if (op < 0.93) {
      first = first.replace(/^\S+/, pick(rand, METHODS));
    } else {
      first = first.replace(/^(\S+) \S+/, `$1 ${sub(pick(rand, URIS))}`);
    }
  }
  return join(first, hs, body);
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

function request(method: string, ruri: string, host: string, n: number, extra: readonly string[] = [], body = ''): Buffer {
  return join(`${method} ${ruri} SIP/2.0`, [
    `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-fz-${n};rport`,
    'Max-Forwards: 70', `From: <sip:alice@${host}>;tag=a${n}`, `To: <sip:bob@${host}>`, `Call-ID: fz-${n}@fuzz`,
    `CSeq: 1 ${method}`, `Contact: <sip:alice@${CALLER.address}:${CALLER.port}>`, ...extra,
  ], body);
}

/** A UAS's answer to what the proxy sent it: Vias, Record-Routes, From/To/Call-ID/CSeq copied. */
function answer(sent: string, status: number, toTag: string): Buffer {
  const { headers } = headerLines(sent);
  const copy = headers.filter((h) => /^(via|v|record-route|from|f|to|t|call-id|i|cseq)\s*:/i.test(h))
    .map((h) => (/^(to|t)\s*:/i.test(h) && !/;tag=/i.test(h) && status > 100 ? `${h};tag=${toTag}` : h));
  return join(`SIP/2.0 ${status} Answer`, [...copy, `Contact: <sip:bob@${CALLEE.address}:${CALLEE.port}>`], '');
}

/** The caller's in-dialog request (ACK/BYE) after a 2xx, routed by the Record-Route it got back. */
function inDialog(method: string, res: string, cseq: number, n: number): Buffer {
  const { headers } = headerLines(res);
  const get = (name: string): string | undefined => headers.find((h) => h.toLowerCase().startsWith(`${name}:`))?.replace(/^[^:]+:\s*/, '');
  const routes = headers.filter((h) => /^record-route\s*:/i.test(h)).map((h) => h.replace(/^[^:]+:\s*/, ''));
  const contact = (get('contact') ?? `<sip:bob@${CALLEE.address}:${CALLEE.port}>`).replace(/^.*<([^>]*)>.*$/, '$1');
  return join(`${method} ${contact} SIP/2.0`, [
    `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-fz-${n}-${method}-${cseq};rport`, 'Max-Forwards: 70',
    `From: ${get('from') ?? ''}`, `To: ${get('to') ?? ''}`, `Call-ID: ${get('call-id') ?? ''}`, `CSeq: ${cseq} ${method}`,
    ...routes.map((r) => `Route: ${r}`),
  ], '');
}

describe('whole-node semantic fuzzing: odd but parseable call flows', () => {
  let node: SipNode;
  let app: SipApp;
  let host: string;
  const outbox: Sent[] = [];
  const errors: string[] = [];
  let listener: MessageSource['listener'];

  const deliver = (bytes: Buffer, remote: Endpoint): void =>
    node.dispatcher.onMessage(bytes, { transport: 'udp', remote, listener, connectionId: null });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };
  const take = (): Sent[] => outbox.splice(0, outbox.length);

  beforeAll(async () => {
    const { config } = loadConfig({
      // NAT fix-ups on: mutated Contacts (IPv6, tel:, lists, other hosts) walk their rewrites too.
      // nat.fix_contact on: mutated Contacts (IPv6, tel:, lists, other hosts) walk its rewrites too. Not
      // fix_register: mutated REGISTERs bind bob's contacts from the caller's address, and routing to
      // that source (as it should) would take calls away from the callee this harness plays.
      sets: ['listen.udp=["127.0.0.1:0"]', 'listen.tcp=[]', 'admin.enabled=false', 'log.level=warn', 'proxy.local_domains=["example.com"]', 'nat.fix_contact=true'],
    });
    // Every warning-or-worse line is kept: errors fail the run, warnings are allowed (bad input is logged).
    const sink = new Writable({
      write(chunk: Buffer, _enc, done): void {
        for (const line of chunk.toString().split('\n')) {
          if (/"level":(50|60)/.test(line)) errors.push(line);
          else if (process.env.SIP_FLOW_FUZZ_WARNINGS && line !== '') process.stderr.write(`${line}\n`);
        }
        done();
      },
    });
    const logger = pino({ level: 'warn' }, sink);
    node = await startSipNode(config, logger, { route: startingRoute });
    app = await startSipApp(node, config, logger);
    const udp = node.udp[0];
    listener = udp.listener;
    host = `${listener.host}:${listener.port}`;
    udp.send = (bytes: Buffer, dest: Endpoint): void => {
      outbox.push({ text: bytes.toString('latin1'), dest });
    };
  });

  afterAll(async () => {
    app?.stop();
    await node?.stop();
  });

  const dropped = async (reason: string): Promise<number> =>
    (await node.metrics.droppedMessages.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it(`${CASES} mutated flows leave no handler error and no error log (seed ${SEED})`, async () => {
    const rand = seeded(SEED);
    // How far the flows got: a fuzz that never reaches the proxy's answer paths proves little.
    const reached = { forwardedInvites: 0, established: 0, byesForwarded: 0 };
    const register = (ep: Endpoint, n: number, transport = 'udp'): Buffer =>
      join(`REGISTER sip:${host} SIP/2.0`, [
        `Via: SIP/2.0/UDP ${ep.address}:${ep.port};branch=z9hG4bK-reg-${n};rport`, 'Max-Forwards: 70',
        `From: <sip:bob@${host}>;tag=r${n}`, `To: <sip:bob@${host}>`, `Call-ID: reg-${ep.port}@fuzz`, `CSeq: ${n} REGISTER`,
        `Contact: <sip:bob@${ep.address}:${ep.port};transport=${transport}>`, 'Expires: 3600',
      ], '');
    for (let n = 0; n < CASES; n++) {
      const failAt = (what: string): string => `case ${n} (seed ${SEED}): ${what}\n${errors.slice(0, 3).join('\n')}`;
      // Keep bob registered at two contacts so most INVITEs fork somewhere (re-registered every case: a
      // mutated REGISTER may have removed him).
      if (n % 2 === 0) {
        deliver(register(CALLEE, 2 * n + 1), CALLEE);
        deliver(register(CALLEE_TCP, 2 * n + 2), CALLEE_TCP);
        await settle();
        take();
      }
      const kind = rand();
      if (kind < 0.3) {
        // A standalone request of any method, mutated.
        const method = pick(rand, METHODS.filter((m) => m !== 'ACK' && m !== 'CANCEL'));
        const ruri = method === 'REGISTER' ? `sip:${host}` : `sip:bob@${host}`;
        deliver(mutate(rand, request(method, ruri, host, n, method === 'REGISTER' ? ['Expires: 60'] : []), host), CALLER);
        await settle();
        take();
      } else {
        // A call: INVITE (maybe mutated), the callee's answers (maybe mutated), then the caller's
        // ACK / BYE / CANCEL (maybe mutated), in an order the fuzz picks.
        const invite = request('INVITE', `sip:bob@${host}`, host, n, ['Content-Type: application/sdp'], SDP);
        deliver(rand() < 0.3 ? mutate(rand, invite, host) : invite, CALLER);
        await settle();
        let toCallee = take().filter((s) => s.dest.port !== CALLER.port && /^INVITE /.test(s.text));
        reached.forwardedInvites += toCallee.length;
        if (rand() < 0.15) {
          deliver(invite, CALLER); // a retransmission
          deliver(mutate(rand, join(`CANCEL sip:bob@${host} SIP/2.0`, headerLines(invite.toString('latin1')).headers.map((h) => h.replace(/^CSeq: 1 INVITE$/, 'CSeq: 1 CANCEL')), ''), host), CALLER);
          await settle();
          toCallee = [...toCallee, ...take().filter((s) => s.dest.port !== CALLER.port && /^(INVITE|CANCEL) /.test(s.text))];
        }
        let final: string | undefined;
        for (const sent of toCallee) {
          const steps = 1 + Math.floor(rand() * 3);
          for (let s = 0; s < steps; s++) {
            const status = s === steps - 1 ? pick(rand, STATUSES.filter((c) => c >= 200)) : pick(rand, [100, 180, 183]);
            const res = answer(sent.text, status, `b${n}`);
            deliver(rand() < 0.35 ? mutate(rand, res, host) : res, sent.dest);
            await settle();
            for (const out of take()) if (out.dest.port === CALLER.port && /^SIP\/2\.0 2\d\d [^\r]*\r\n/.test(out.text) && / INVITE\r\n/.test(out.text)) final = out.text;
          }
        }
        if (final !== undefined) {
          reached.established++;
          const ack = inDialog('ACK', final, 1, n);
          deliver(rand() < 0.3 ? mutate(rand, ack, host) : ack, CALLER);
          const bye = inDialog('BYE', final, 2, n);
          deliver(rand() < 0.3 ? mutate(rand, bye, host) : bye, CALLER);
          await settle();
          for (const sent of take()) {
            if (sent.dest.port !== CALLER.port && /^BYE /.test(sent.text)) {
              reached.byesForwarded++;
              const res = answer(sent.text, pick(rand, [200, 200, 481, 500]), `b${n}`);
              deliver(rand() < 0.3 ? mutate(rand, res, host) : res, sent.dest);
            }
          }
          await settle();
          take();
        }
      }
      if (errors.length > 0) throw new Error(failAt('an error was logged'));
      if ((await dropped('handler-error')) + (await dropped('parse-crash')) > 0) throw new Error(failAt('a handler threw'));
    }
    expect(errors).toEqual([]);
    expect(reached.forwardedInvites).toBeGreaterThan(CASES * 0.4);
    expect(reached.established).toBeGreaterThan(CASES * 0.1);
    expect(reached.byesForwarded).toBeGreaterThan(CASES * 0.05);
    expect(await dropped('handler-error')).toBe(0);
    expect(await dropped('parse-crash')).toBe(0);
  }, 120_000);

  it('still registers and completes a clean call afterwards', async () => {
    take(); // timers of the fuzzed flows keep retransmitting meanwhile: only this flow's messages count
    const of = (callId: string): Sent[] => take().filter((s) => s.text.includes(`Call-ID: ${callId}\r\n`));
    deliver(join(`REGISTER sip:${host} SIP/2.0`, [
      `Via: SIP/2.0/UDP ${CALLEE.address}:${CALLEE.port};branch=z9hG4bK-final-reg;rport`, 'Max-Forwards: 70',
      `From: <sip:carol@${host}>;tag=c1`, `To: <sip:carol@${host}>`, 'Call-ID: final-reg@fuzz', 'CSeq: 1 REGISTER',
      `Contact: <sip:carol@${CALLEE.address}:${CALLEE.port}>`, 'Expires: 600',
    ], ''), CALLEE);
    await settle();
    expect(of('final-reg@fuzz').map((s) => s.text.split('\r\n')[0])).toEqual(['SIP/2.0 200 OK']);
    deliver(join(`INVITE sip:carol@${host} SIP/2.0`, [
      `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-final-inv;rport`, 'Max-Forwards: 70',
      `From: <sip:alice@${host}>;tag=f1`, `To: <sip:carol@${host}>`, 'Call-ID: final-call@fuzz', 'CSeq: 1 INVITE',
      `Contact: <sip:alice@${CALLER.address}:${CALLER.port}>`, 'Content-Type: application/sdp',
    ], SDP), CALLER);
    await settle();
    const sent = of('final-call@fuzz');
    const forwarded = sent.find((s) => s.dest.port === CALLEE.port && s.text.startsWith('INVITE '));
    expect(forwarded).toBeDefined();
    deliver(answer(forwarded!.text, 200, 'c2'), CALLEE);
    await settle();
    const up = of('final-call@fuzz').filter((s) => s.dest.port === CALLER.port).map((s) => s.text.split('\r\n')[0]);
    expect(up).toContain('SIP/2.0 200 Answer');
  });
});
