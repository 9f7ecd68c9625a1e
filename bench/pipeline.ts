/**
 * CPU cost of our own code per SIP transaction, without the kernel: the real node (dispatcher,
 * transactions, registrar, proxy, default script) with its UDP send replaced by a counter and
 * datagrams handed to the dispatcher through the transports' inbound batcher, 64 per loop turn.
 * bench:sip measures the whole box against Kamailio; this isolates the share we control, so a
 * change to the stack is judged by CPU µs, which the shared box's noise barely moves (run it under
 * `node --cpu-prof` to see where the time goes).
 *
 *   node dist/bench/pipeline.js [--register 100000] [--calls 20000] [--out FILE]
 *
 * register: N REGISTERs, each a distinct AoR (as ../shared/bench/sipp/register.xml sends them).
 * calls: N calls INVITE/180/200/ACK/BYE/200 from a caller to one registered callee through the proxy,
 * the callee's answers generated from what the proxy sent it (as SIPp uac.xml/uas.xml do).
 * Writes bench/results/pipeline.json (or --out FILE while iterating).
 */
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../config/index.js';
import { startSipApp, startingRoute } from '../node/app/index.js';
import { startSipNode, tuneGarbageCollector } from '../node/core/index.js';
import { createLogger } from '../node/log/index.js';
import { InboundBatch, type Endpoint, type MessageSource } from '../node/transport/index.js';
import { mergeResultsAt, resultsPath } from './lib/index.js';

const CALLER: Endpoint = { address: '127.0.0.2', port: 5061 };
const CALLEE: Endpoint = { address: '127.0.0.3', port: 5062 };

interface Sent {
  bytes: Buffer;
  dest: Endpoint;
}

function header(msg: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(msg);
  if (m === null) throw new Error(`no ${name} in:\n${msg}`);
  return m[1].trim();
}

function allHeaders(msg: string, name: string): string[] {
  return [...msg.matchAll(new RegExp(`^${name}:[ \\t]*(.*)$`, 'gmi'))].map((m) => m[1].trim());
}

/** A response to a request as a UAS would write it: Via/From/To/Call-ID/CSeq (and Record-Route) copied. */
function answer(req: string, status: number, reason: string, toTag: string, extra = ''): Buffer {
  const vias = allHeaders(req, 'Via').map((v) => `Via: ${v}\r\n`).join('');
  const rr = allHeaders(req, 'Record-Route').map((v) => `Record-Route: ${v}\r\n`).join('');
  const to = header(req, 'To');
  return Buffer.from(
    `SIP/2.0 ${status} ${reason}\r\n${vias}${rr}From: ${header(req, 'From')}\r\nTo: ${to.includes(';tag=') ? to : `${to};tag=${toTag}`}\r\n` +
      `Call-ID: ${header(req, 'Call-ID')}\r\nCSeq: ${header(req, 'CSeq')}\r\n${extra}Content-Length: 0\r\n\r\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { register: { type: 'string', default: '100000' }, calls: { type: 'string', default: '20000' }, out: { type: 'string' } } });
  const { config } = loadConfig({
    sets: ['listen.udp=["127.0.0.1:0"]', 'listen.tcp=[]', 'admin.enabled=false', 'log.level=warn', 'log.file=/dev/null'],
  });
  // As the node's main does, before any traffic (PIPELINE_PRETENURE=1: V8's default, for comparison).
  if (process.env.PIPELINE_PRETENURE !== '1') tuneGarbageCollector();
  const { logger } = createLogger(config.log);
  const node = await startSipNode(config, logger, { route: startingRoute });
  const app = await startSipApp(node, config, logger);
  const udp = node.udp[0];
  const listener = udp.listener;
  const local = `${listener.host}:${listener.port}`;
  const outbox: Sent[] = [];
  udp.send = (bytes: Buffer, dest: Endpoint): void => {
    outbox.push({ bytes, dest });
  };
  const from = (remote: Endpoint): MessageSource => ({ transport: 'udp', remote, listener, connectionId: null });
  // Through the batcher the transports use, as a loaded socket delivers them (PIPELINE_DIRECT=1:
  // straight to the dispatcher, the whole batch started before any of it finishes).
  const inbound = new InboundBatch(node.dispatcher, null);
  const deliver = process.env.PIPELINE_DIRECT === '1'
    ? (bytes: Buffer, remote: Endpoint): void => node.dispatcher.onMessage(bytes, from(remote))
    : (bytes: Buffer, remote: Endpoint): void => inbound.push(bytes, from(remote));
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  const take = (): Sent[] => outbox.splice(0, outbox.length);

  const result: Record<string, unknown> = { generated_at: new Date().toISOString(), node: process.version };

  // ---------------------------------------------------------------- REGISTER
  const nReg = Number(values.register);
  const register = (i: number): Buffer =>
    Buffer.from(
      `REGISTER sip:${local} SIP/2.0\r\nVia: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-reg-${i};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:user${i}@${local}>;tag=t${i}\r\nTo: <sip:user${i}@${local}>\r\nCall-ID: reg-${i}@bench\r\n` +
        `CSeq: 1 REGISTER\r\nContact: <sip:user${i}@${CALLER.address}:${CALLER.port};transport=udp>\r\nExpires: 3600\r\n` +
        `User-Agent: sipp-bench\r\nContent-Length: 0\r\n\r\n`,
    );
  // Messages are built before the clock starts: generating load is not the server's cost.
  const regs = Array.from({ length: nReg }, (_, i) => register(i));
  const batch = 64; // datagrams per event-loop turn, as a loaded socket delivers them
  let ok = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < nReg; i += batch) {
    for (let j = i; j < Math.min(nReg, i + batch); j++) deliver(regs[j], CALLER);
    await settle();
    for (const s of take()) if (s.bytes.subarray(0, 12).toString() === 'SIP/2.0 200 ') ok++;
  }
  await settle();
  for (const s of take()) if (s.bytes.subarray(0, 12).toString() === 'SIP/2.0 200 ') ok++;
  const c1 = process.cpuUsage(c0);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (ok !== nReg) throw new Error(`REGISTER: ${ok} of ${nReg} answered 200`);
  result.register = { requests: nReg, cpu_us_per_request: round((c1.user + c1.system) / nReg), wall_per_s: Math.round(nReg / wallS) };
  process.stdout.write(`register: ${JSON.stringify(result.register)}\n`);

  // ---------------------------------------------------------------- calls
  const nCalls = Number(values.calls);
  if (nCalls > 0) {
    deliver(
      Buffer.from(
        `REGISTER sip:${local} SIP/2.0\r\nVia: SIP/2.0/UDP ${CALLEE.address}:${CALLEE.port};branch=z9hG4bK-uasreg;rport\r\nMax-Forwards: 70\r\n` +
          `From: <sip:uas@${local}>;tag=u1\r\nTo: <sip:uas@${local}>\r\nCall-ID: uas-reg@bench\r\nCSeq: 1 REGISTER\r\n` +
          `Contact: <sip:uas@${CALLEE.address}:${CALLEE.port}>\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n`,
      ),
      CALLEE,
    );
    await settle();
    take();
    // Under load a retransmitted INVITE (Timer A) reaches the callee twice: each UA acts once per call.
    const answeredAtCallee = new Set<string>();
    const establishedAtCaller = new Set<number>();
    const endedAtCaller = new Set<number>();
    let established = 0;
    let ended = 0;
    const invite = (i: number): Buffer =>
      Buffer.from(
        `INVITE sip:uas@${local} SIP/2.0\r\nVia: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-inv-${i};rport\r\nMax-Forwards: 70\r\n` +
          `From: <sip:uac@${local}>;tag=c${i}\r\nTo: <sip:uas@${local}>\r\nCall-ID: call-${i}@bench\r\nCSeq: 1 INVITE\r\n` +
          `Contact: <sip:uac@${CALLER.address}:${CALLER.port}>\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\n`,
      );
    // The UAC's in-dialog requests follow the 200's Record-Route (loose routing) to the callee's Contact.
    const inDialog = (method: 'ACK' | 'BYE', i: number, ok200: string): Buffer => {
      const routes = allHeaders(ok200, 'Record-Route').reverse().map((r) => `Route: ${r}\r\n`).join('');
      return Buffer.from(
        `${method} sip:uas@${CALLEE.address}:${CALLEE.port} SIP/2.0\r\nVia: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-${method}-${i};rport\r\n` +
          `${routes}Max-Forwards: 70\r\nFrom: <sip:uac@${local}>;tag=c${i}\r\nTo: ${header(ok200, 'To')}\r\nCall-ID: call-${i}@bench\r\n` +
          `CSeq: ${method === 'ACK' ? 1 : 2} ${method}\r\nContent-Length: 0\r\n\r\n`,
      );
    };
    const invites = Array.from({ length: nCalls }, (_, i) => invite(i));
    const callBatch = 16;
    const d0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    let answered = 0;
    for (let i = 0; i < nCalls; i += callBatch) {
      for (let j = i; j < Math.min(nCalls, i + callBatch); j++) deliver(invites[j], CALLER);
      // Play both UAs until this batch of calls has ended (each step answers what the proxy sent).
      for (let guard = 0; guard < 20 && ended < Math.min(nCalls, i + callBatch); guard++) {
        await settle();
        for (const s of take()) {
          const text = s.bytes.toString('latin1');
          const toCallee = s.dest.address === CALLEE.address;
          if (toCallee && text.startsWith('INVITE ')) {
            const callId = header(text, 'Call-ID');
            if (answeredAtCallee.has(callId)) continue;
            answeredAtCallee.add(callId);
            const tag = `e${header(text, 'Call-ID')}`.replace(/[^A-Za-z0-9]/g, '');
            deliver(answer(text, 180, 'Ringing', tag), CALLEE);
            deliver(answer(text, 200, 'OK', tag, `Contact: <sip:uas@${CALLEE.address}:${CALLEE.port}>\r\n`), CALLEE);
          } else if (toCallee && text.startsWith('BYE ')) {
            deliver(answer(text, 200, 'OK', 'unused'), CALLEE);
          } else if (!toCallee && text.startsWith('SIP/2.0 200 ')) {
            const n = Number(/call-(\d+)@bench/.exec(text)?.[1]);
            if (text.includes(' INVITE\r\n')) {
              if (establishedAtCaller.has(n)) continue;
              establishedAtCaller.add(n);
              answered++;
              established++;
              deliver(inDialog('ACK', n, text), CALLER);
              deliver(inDialog('BYE', n, text), CALLER);
            } else if (text.includes(' BYE\r\n') && !endedAtCaller.has(n)) {
              endedAtCaller.add(n);
              ended++;
            }
          }
        }
      }
    }
    const d1 = process.cpuUsage(d0);
    const wall = Number(process.hrtime.bigint() - w0) / 1e9;
    if (established !== nCalls || ended !== nCalls) throw new Error(`calls: ${established} established, ${ended} ended of ${nCalls}`);
    // The harness's own work (string scans of what the proxy sent, building answers) is inside this figure.
    result.calls = { calls: nCalls, answered, cpu_us_per_call_incl_harness: round((d1.user + d1.system) / nCalls), wall_per_s: Math.round(nCalls / wall) };
    process.stdout.write(`calls: ${JSON.stringify(result.calls)}\n`);
  }

  // PIPELINE_HEAPSNAP=FILE: what the node retains after the load (transactions in Timer J, bindings).
  if (process.env.PIPELINE_HEAPSNAP) writeHeapSnapshot(process.env.PIPELINE_HEAPSNAP);
  app.stop();
  await node.stop();
  mergeResultsAt(values.out ?? resultsPath('pipeline'), result);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:pipeline failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1); // the node's sockets would keep the process alive

});
