/**
 * Target (a): the SIP parser and every lazily parsed header accessor the proxy, registrar and auth
 * call, in process. A finding is any error other than the stack's own refusal types escaping
 * (SipParseError; DigestHeaderError and ContactParseError from auth/registrar), an input taking longer
 * than the per-input budget (a hang in the making), or time growing super-linearly with input size.
 */
import {
  SipParseError, createErrorResponse, createResponse, formatNameAddr, formatUri, formatVia, parseMessage, parseNameAddr, parseUri,
  serialize, validateRequest, validateResponse, type SipMessage,
} from '../../../node/sip/index.js';
import { DigestHeaderError, parseDigestCredentials } from '../../../node/auth/index.js';
import { ContactParseError, parseContacts, parseSipUri as registrarSipUri } from '../../../node/registrar/index.js';
import { parseSipUri as proxySipUri } from '../../../node/proxy/index.js';
import { parseViaValue } from '../../../node/proxy/via.js';
import { StreamFramer } from '../../../node/transport/stream-framer.js';
import { GROWERS, grow, mutate, pick, type Rand } from './mutators.js';
import { Findings } from './findings.js';

const EXPECTED = [SipParseError, DigestHeaderError, ContactParseError];
const expected = (e: unknown): boolean => EXPECTED.some((t) => e instanceof t);

/** Everything the node may do with a parsed message; each step on its own, refusals allowed. */
export function exercise(m: SipMessage): void {
  const steps: Array<() => unknown> = [
    () => m.topVia(), () => m.vias().map(formatVia), () => m.vias().map((v) => [v.branch, v.rport, v.received, v.maddr, v.hasRfc3261Branch]),
    () => m.callId(), () => m.cseq(), () => formatNameAddr(m.from()), () => formatNameAddr(m.to()), () => m.maxForwards(), () => m.expires(),
    () => m.contacts(), () => m.routes().map((r) => formatUri(parseUri(r.uri))), () => m.recordRoutes().map((r) => parseUri(r.uri)),
    () => m.contentLength(), () => (m.isRequest ? formatUri(m.requestUri()) : m.status),
    () => (m.isRequest ? validateRequest(m) : validateResponse(m)),
    () => [...new Set([...m.headers].map(([n]) => n.toLowerCase()))].map((n) => m.headers.getAll(n)),
    () => m.headers.getAll('Path').map((p) => parseUri(parseNameAddr(p).uri)),
    () => { const c = m.contacts(); return c === '*' ? c : c.map((x) => formatUri(parseUri(x.uri))); },
    () => [...m.headers.getLines('Authorization'), ...m.headers.getLines('Proxy-Authorization')].map(parseDigestCredentials),
    () => parseContacts(m.headers.getLines('Contact')),
    () => registrarSipUri(m.to().uri), () => registrarSipUri(m.from().uri),
    () => m.headers.getAll('Via').map(parseViaValue),
    () => (m.isRequest ? proxySipUri(m.uri) : undefined), () => m.headers.getAll('Route').map((r) => proxySipUri(parseNameAddr(r).uri)),
  ];
  for (const s of steps) {
    try {
      s();
    } catch (e) {
      if (!expected(e)) throw e;
    }
  }
  if (m.isRequest) {
    serialize(createResponse(m, 400, 'Bad Request', { toTag: 'fz', recordRoute: true }));
    serialize(createResponse(m, 100));
  }
  const wire = serialize(m);
  const again = parseMessage(wire);
  if (again.body.length !== m.body.length) throw new Error('body length changed across serialize');
  m.headers.removeFirstValue('Via');
  m.headers.prepend('Via', 'SIP/2.0/UDP fuzz.example.com;branch=z9hG4bKfuzz');
  serialize(m);
}

/** Parse + exercise one input; returns what happened, throws only a finding. */
export function runOne(input: Buffer): 'parsed' | 'rejected' {
  let m: SipMessage;
  try {
    m = parseMessage(input);
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    const reply = createErrorResponse(e, { toTag: 'fz' });
    if (reply !== null) serialize(reply);
    return 'rejected';
  }
  exercise(m);
  return 'parsed';
}

/** Frames `stream` split at random points (and every byte for small ones); messages must come out whole. */
export function frameOne(rand: Rand, stream: Buffer, everyByte: boolean): number {
  const f = new StreamFramer(65_535);
  let events = 0;
  if (everyByte) for (let i = 0; i < stream.length; i++) events += f.push(stream.subarray(i, i + 1)).length;
  else {
    let at = 0;
    while (at < stream.length) {
      const n = 1 + Math.floor(rand() * 1500);
      events += f.push(stream.subarray(at, at + n)).length;
      at += n;
    }
  }
  return events;
}

function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

export interface ParserOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly corpus: readonly Buffer[];
  readonly rand: Rand;
  /** CPU budget for one input (parse + every accessor); over it is a finding */
  readonly budgetMs: number;
}

export function runParserTarget(o: ParserOptions, findings: Findings): Record<string, number> {
  const { rand, corpus } = o;
  const stop = Date.now() + o.seconds * 1000;
  const stats = { inputs: 0, parsed: 0, rejected: 0, framed: 0, scalingProbes: 0, maxInputMs: 0 };
  while (Date.now() < stop) {
    // A batch of mutants, then a framing round and a scaling probe: all three kinds every second or so.
    for (let k = 0; k < 500; k++) {
      const input = mutate(rand, corpus);
      const t0 = process.hrtime.bigint();
      try {
        stats[runOne(input)]++;
      } catch (e) {
        findings.add('parser', 'throw', e, input);
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      stats.inputs++;
      if (ms > stats.maxInputMs) stats.maxInputMs = ms;
      if (ms > o.budgetMs) {
        // Re-measure once: a GC pause or the shared box's scheduler is not a finding.
        const again = cpuMs(() => { try { runOne(input); } catch { /* counted above */ } });
        if (again > o.budgetMs) findings.add('parser', 'slow', new Error(`${again.toFixed(1)} ms CPU for ${input.length} bytes`), input);
      }
    }
    // Framing: whole valid messages pipelined in one stream, split randomly; mutants too.
    const n = 1 + Math.floor(rand() * 5);
    const msgs = Array.from({ length: n }, () => pick(rand, corpus.slice(-9)));
    const stream = Buffer.concat(rand() < 0.5 ? msgs : [...msgs, mutate(rand, corpus)]);
    try {
      const evs = frameOne(rand, stream, stream.length < 6000 && rand() < 0.2);
      if (stream.length === msgs.reduce((a, b) => a + b.length, 0) && evs !== n) {
        throw new Error(`framer produced ${evs} events for ${n} pipelined valid messages`);
      }
    } catch (e) {
      findings.add('framer', 'throw', e, stream);
    }
    stats.framed++;
    scalingProbe(rand, corpus, findings);
    stats.scalingProbes++;
  }
  return stats;
}

/**
 * Grows one header of a corpus message by a repeated unit at n and 8n units; a linear parser takes
 * about 8x as long, a quadratic one 64x. Ratios over 24 (with a floor so timer noise never counts)
 * are re-measured, then reported.
 */
export function scalingProbe(rand: Rand, corpus: readonly Buffer[], findings: Findings): void {
  const base = pick(rand, corpus.slice(-9));
  const g = pick(rand, GROWERS);
  const hi = Math.floor(rand() * 12);
  const where = pick(rand, ['end', 'end', 'middle', 'uri', 'lines'] as const);
  // Whole header lines are bigger units: fewer of them keep the large case within a TCP message's size.
  const [ns, nl] = where === 'lines' ? [300, 2400] : [700, 5600];
  const small = grow(rand, base, g, ns, hi, where);
  const large = grow(rand, base, g, nl, hi, where);
  const measure = (b: Buffer): number => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) best = Math.min(best, cpuMs(() => { try { runOne(b); } catch { /* a throw is the random loop's finding */ } }));
    return best;
  };
  const ts = measure(small);
  const tl = measure(large);
  if (tl > 25 && tl / Math.max(ts, 0.5) > 24) {
    const tl2 = measure(large);
    if (tl2 > 25 && tl2 / Math.max(measure(small), 0.5) > 24) {
      findings.add('parser', 'superlinear', new Error(`grower ${g.name} (${where}) on header #${hi}: ${ts.toFixed(1)} ms at ${ns}, ${tl2.toFixed(1)} ms at ${nl}`), large);
    }
  }
}
