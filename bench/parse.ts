/**
 * SIP parser/serializer throughput on one core: a typical INVITE and REGISTER.
 *  - parse_serialize: parseMessage + serialize of the untouched message (what a stateless relay of an
 *    unchanged message costs);
 *  - parse_validate: parseMessage + validateRequest (every semantic check the server runs per request);
 *  - proxy_path: parse, read the headers a proxy reads (top Via, Call-ID, CSeq, From/To tags,
 *    Max-Forwards, Route), add a Via, decrement Max-Forwards and serialize (the rebuilt-head path).
 * Target (issue 2): >= 200,000 parse+serialize/s. Writes bench/results/parse.json (merging).
 */
import { parseMessage, serialize, validateRequest } from '../node/sip/index.js';
import { TYPICAL_INVITE, TYPICAL_REGISTER, mergeResults, measure } from './lib/index.js';

function parseSerialize(buf: Buffer): () => void {
  return () => {
    serialize(parseMessage(buf));
  };
}

/** What the server does to every request before the transaction layer: parse and full validation. */
function parseValidate(buf: Buffer): () => void {
  return () => {
    const m = parseMessage(buf);
    if (m.isRequest && validateRequest(m) !== null) throw new Error('bench message failed validation');
  };
}

function proxyPath(buf: Buffer): () => void {
  return () => {
    const m = parseMessage(buf);
    m.topVia();
    m.callId();
    m.cseq();
    m.from();
    m.to();
    const mf = m.maxForwards() ?? 70;
    m.routes();
    m.headers.prepend('Via', 'SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK-bench');
    m.headers.set('Max-Forwards', String(mf - 1));
    serialize(m);
  };
}

function main(): void {
  const ms = Number(process.env.BENCH_MS ?? 2000);
  const inviteRaw = measure(parseSerialize(TYPICAL_INVITE), ms);
  const registerRaw = measure(parseSerialize(TYPICAL_REGISTER), ms);
  const invite = {
    ...inviteRaw, bytes: TYPICAL_INVITE.length,
    parse_validate: measure(parseValidate(TYPICAL_INVITE), ms), proxy_path: measure(proxyPath(TYPICAL_INVITE), ms),
  };
  const register = {
    ...registerRaw, bytes: TYPICAL_REGISTER.length,
    parse_validate: measure(parseValidate(TYPICAL_REGISTER), ms), proxy_path: measure(proxyPath(TYPICAL_REGISTER), ms),
  };
  const merged = mergeResults('parse', {
    invite, register, target_ops_per_s: 200000, node: process.version, date: new Date().toISOString(),
  });
  process.stdout.write(JSON.stringify({ invite: merged.invite, register: merged.register }, null, 2) + '\n');
}

main();
