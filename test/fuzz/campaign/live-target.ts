/**
 * Target (b): the real server process (dist/node/main.js) on 127.0.0.1 ephemeral ports, over UDP and
 * TCP. Bursts of mutated datagrams; TCP connections carrying mutants, valid messages split at every
 * byte, and several messages pipelined in one segment. Between bursts a fresh valid OPTIONS over UDP
 * and over TCP must be answered, RSS is sampled, and at the end the log must hold no error line
 * (an uncaught exception is logged at error level by main.ts's last resort) and the process must
 * stop cleanly (exit 0 on SIGTERM).
 */
import { createSocket } from 'node:dgram';
import { readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startServer, type ServerProcess } from '../../helpers/server-process.js';
import type { Findings } from './findings.js';
import { mutate, pick, type Rand } from './mutators.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function options(port: number, transport: 'UDP' | 'TCP', localPort: number, n: number): Buffer {
  return Buffer.from([
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/${transport} 127.0.0.1:${localPort};branch=z9hG4bK-probe-${n};rport`,
    'Max-Forwards: 70', `From: <sip:probe@127.0.0.1>;tag=p${n}`, `To: <sip:127.0.0.1:${port}>`, `Call-ID: probe-${n}@fuzz`,
    'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\r\n'));
}

async function udpProbe(port: number, n: number): Promise<boolean> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    return await new Promise<boolean>((resolve) => {
      const msg = options(port, 'UDP', s.address().port, n);
      const retransmit = setTimeout(() => s.send(msg, port, '127.0.0.1'), 500); // a UAC retransmits (Timer E)
      const done = (ok: boolean): void => {
        clearTimeout(t);
        clearTimeout(retransmit);
        resolve(ok);
      };
      const t = setTimeout(() => done(false), 3000);
      s.on('message', (m) => {
        if (m.toString('latin1').includes(`probe-${n}@fuzz`)) done(true);
      });
      s.send(msg, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

function tcpProbe(port: number, n: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 3000);
    s.on('error', () => done(false));
    s.on('connect', () => s.write(options(port, 'TCP', s.localPort ?? 0, n)));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes(`probe-${n}@fuzz`)) done(true);
    });
  });
}

/** Writes `chunks` one per tick (so each is its own segment on loopback), then waits a little and closes. */
function tcpSend(port: number, chunks: Buffer[], holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve();
    };
    const t = setTimeout(done, holdMs + 5000);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => undefined);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (chunks.length > 1) await new Promise((r) => setImmediate(r));
      }
      setTimeout(done, holdMs);
    });
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

interface Callee {
  requests(): number;
  close(): void;
}

/** Registers bob@127.0.0.1 at the server with a UDP contact that answers every request relayed to it. */
async function startCallee(rand: Rand, serverPort: number): Promise<Callee> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const me = s.address().port;
  let requests = 0;
  s.on('message', (m, from) => {
    const text = m.toString('latin1');
    if (text.startsWith('SIP/') || text.startsWith('ACK ')) return;
    requests++;
    const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n'))).split('\r\n');
    const copied = head.filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l))
      .map((l) => (/^(to|t)\s*:/i.test(l) && !/;tag=/i.test(l) ? `${l};tag=callee${requests}` : l));
    const status = text.startsWith('INVITE ') ? (rand() < 0.7 ? '486 Busy Here' : '200 OK') : '200 OK';
    const contact = status === '200 OK' ? [`Contact: <sip:bob@127.0.0.1:${me}>`] : [];
    s.send(Buffer.from(['SIP/2.0 ' + status, ...copied, ...contact, 'Content-Length: 0', '', ''].join('\r\n')), from.port, from.address);
  });
  s.send(Buffer.from([
    `REGISTER sip:127.0.0.1:${serverPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK-callee-reg;rport`, 'Max-Forwards: 70',
    '<sip:bob@127.0.0.1>'.replace(/^/, 'From: ') + ';tag=cr', 'To: <sip:bob@127.0.0.1>', 'Call-ID: callee-reg@fuzz', 'CSeq: 1 REGISTER',
    `Contact: <sip:bob@127.0.0.1:${me}>`, 'Expires: 3600', 'Content-Length: 0', '', '',
  ].join('\r\n')), serverPort, '127.0.0.1');
  await sleep(300);
  return { requests: () => requests, close: () => s.close() };
}

export interface LiveOptions {
  readonly seconds: number;
  readonly rand: Rand;
  readonly corpusFor: (port: number) => Buffer[];
  /** run the server with digest authentication on */
  readonly auth?: boolean;
}

export async function runLiveTarget(o: LiveOptions, findings: Findings): Promise<Record<string, number>> {
  const { rand } = o;
  // With a user configured the default script challenges REGISTER and INVITE (RFC 3261 §22), so
  // mutated credentials reach the digest parser and verifier, not only the registrar and proxy.
  const auth = o.auth ? { auth: { realm: 'siphon', users: [{ username: 'alice', password: 'pw' }] } } : {};
  const server: ServerProcess = await startServer({ config: { log: { format: 'json', level: 'warn' }, ...auth } });
  const logFile = join(server.dir, 'siphon.log');
  // Should this driver die, the server must not outlive it.
  const reap = (): void => {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', reap);
  const port = server.sipPort;
  const corpus = o.corpusFor(port);
  const valid = corpus.slice(-9);
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  // RFC 3261 §21.4.1 lets the reason phrase say what was wrong; every 400 the node sends should.
  const replies = { total: 0, status400: 0 };
  udp.on('message', (m) => {
    replies.total++;
    const eol = m.indexOf('\r\n');
    const line = m.toString('latin1', 0, eol < 0 ? Math.min(m.length, 200) : eol);
    if (!line.startsWith('SIP/2.0 400')) return;
    replies.status400++;
    if (line.trim() === 'SIP/2.0 400 Bad Request') findings.add('live', 'generic-400', new Error('a 400 without a specific reason phrase'), m);
  });
  // The server's replies go to the Via of each mutant; keep them on loopback, to this socket.
  // Most mutants get their own branch and Call-ID: sharing the corpus's, they would all be
  // retransmissions of one transaction and never reach the proxy; one in ten keeps them (a retransmission).
  let unique = 0;
  const local = (b: Buffer): Buffer => {
    let t = b.toString('latin1').replace(/192\.0\.2\.\d+(:\d+)?/g, `127.0.0.1:${udp.address().port}`);
    if (rand() < 0.9) {
      const u = (++unique).toString(36);
      t = t.replace(/branch=z9hG4bK-/g, `branch=z9hG4bK-${u}-`).replace(/^(Call-ID|i)(\s*:\s*)/gim, `$1$2${u}-`);
    }
    return Buffer.from(t, 'latin1');
  };
  // A registered callee (without auth; with it a REGISTER needs credentials) answering whatever the
  // proxy relays to it: INVITEs get 486 or 200, anything else 200. Mutated requests to bob then cross
  // the proxy, both transaction layers and the dialog layer, not only the parser and the registrar.
  const callee = o.auth ? undefined : await startCallee(rand, port);
  const stats = { udpDatagrams: 0, tcpConnections: 0, tcpByteSplitMessages: 0, tcpPipelined: 0, probes: 0, calleeRequests: 0, rssStartMb: rssMb(server.pid), rssWarmMb: 0, rssMaxMb: 0, rssEndMb: 0 };
  const stop = Date.now() + o.seconds * 1000;
  let n = 0;
  let lastBurst: Buffer[] = [];
  let warmRss = 0;
  const gauges: Record<string, number> = {};
  let seenOutput = 0;
  let prevBurst: Buffer[] = [];
  let grew = false;
  try {
    while (Date.now() < stop) {
      lastBurst = [];
      // UDP burst, paced so loopback does not drop most of it.
      for (let i = 0; i < 300; i++) {
        const b = local(mutate(rand, corpus));
        if (b.length > 65_507) continue;
        lastBurst.push(b);
        udp.send(b, port, '127.0.0.1');
        stats.udpDatagrams++;
        if (i % 25 === 24) await sleep(2);
      }
      // TCP: mutants (one connection each, several at once), a byte-split valid message, a pipelined batch.
      const conns: Array<Promise<void>> = [];
      for (let i = 0; i < 8; i++) {
        const b = local(mutate(rand, corpus));
        lastBurst.push(b);
        conns.push(tcpSend(port, [b], 50));
        stats.tcpConnections++;
      }
      const whole = local(pick(rand, valid));
      conns.push(tcpSend(port, Array.from({ length: whole.length }, (_, k) => whole.subarray(k, k + 1)), 50));
      stats.tcpByteSplitMessages++;
      stats.tcpConnections++;
      const batch = Buffer.concat([...Array.from({ length: 2 + Math.floor(rand() * 6) }, () => local(pick(rand, valid))), local(mutate(rand, corpus))]);
      lastBurst.push(batch);
      conns.push(tcpSend(port, [batch], 100));
      stats.tcpPipelined++;
      stats.tcpConnections++;
      await Promise.all(conns);
      // An error line logged during this burst names the burst: its inputs go with the finding
      // (the end-of-run scan below has only the log line).
      const out = server.output();
      const fresh = out.slice(seenOutput);
      seenOutput = out.length;
      for (const line of fresh.split('\n')) {
        if (!line.startsWith('{') || !line.includes('"level":50')) continue;
        findings.add('live', 'error-in-burst', new Error(line.slice(0, 400)), Buffer.concat([...prevBurst, ...lastBurst].map((b) => Buffer.concat([b, Buffer.from('\n=====\n')]))));
      }
      prevBurst = lastBurst;
      // The node must still answer a valid request on both transports.
      n++;
      const [u, t] = await Promise.all([udpProbe(port, n * 2), tcpProbe(port, n * 2 + 1)]);
      stats.probes += 2;
      const exited = server.child.exitCode !== null || server.child.signalCode !== null;
      if (exited || !u || !t) {
        findings.add('live', exited ? 'exited' : 'unanswered', new Error(`after burst ${n}: udp ${u} tcp ${t} exited ${exited}`), Buffer.concat(lastBurst.slice(-50)));
        if (exited) break;
      }
      const rss = rssMb(server.pid);
      if (rss > stats.rssMaxMb) stats.rssMaxMb = rss;
      // After warm-up (JIT, pools, transaction tables at their steady size) RSS must stay flat.
      if (n === 20) warmRss = rss;
      if (warmRss > 0 && rss - warmRss > 200 && !grew) {
        grew = true;
        findings.add('live', 'rss-growth', new Error(`RSS grew from ${warmRss} MB after warm-up to ${rss} MB at burst ${n}`), Buffer.concat(lastBurst.slice(-20)));
      }
      if (rss > 1024) {
        findings.add('live', 'rss', new Error(`RSS ${rss} MB after burst ${n}`), Buffer.alloc(0));
        break;
      }
    }
    stats.rssEndMb = rssMb(server.pid);
    stats.rssWarmMb = warmRss;
    stats.calleeRequests = callee?.requests() ?? 0;
    // What state the node holds at the end (RSS growth is only a leak if these do not explain it).
    try {
      const text = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      for (const line of text.split('\n')) {
        const m = /^(siphon_(?:dialogs?|transactions?|registrations?|bindings?|connections)[a-z_]*)(\{[^}]*\})? (\d+(?:\.\d+)?)$/.exec(line);
        if (m !== null) gauges[`${m[1]}${m[2] ?? ''}`] = Number(m[3]);
      }
    } catch {
      // metrics are a diagnostic here, not a check
    }
  } finally {
    callee?.close();
    udp.close();
    const code = await server.stop();
    process.off('exit', reap);
    if (code !== 0) findings.add('live', 'exit', new Error(`server exited ${code} on SIGTERM`), Buffer.alloc(0));
  }
  // Error-level lines (an uncaught exception among them) are findings; warnings are counted.
  const lines = [(existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''), server.output()].join('\n').split('\n').filter((l) => l.startsWith('{'));
  let warnings = 0;
  for (const l of lines) {
    let rec: { level?: number; msg?: string; err?: { message?: string; stack?: string } };
    try {
      rec = JSON.parse(l) as typeof rec;
    } catch {
      continue;
    }
    if ((rec.level ?? 0) >= 50) {
      const e = new Error(`${rec.msg ?? ''}: ${rec.err?.message ?? ''}`);
      // The server's own stack: its first frame names the bug (the signature uses it).
      e.stack = `${e.message}\n${(rec.err?.stack ?? '').split('\n').slice(1).join('\n')}`;
      findings.add('live', 'error-log', e, Buffer.from(l));
    } else if ((rec.level ?? 0) >= 40) warnings++;
  }
  const stderrErrors = server.output().split('\n').filter((l) => !l.startsWith('{') && /uncaught|unhandled|TypeError|RangeError/i.test(l));
  for (const l of stderrErrors.slice(0, 20)) findings.add('live', 'stderr', new Error(l.slice(0, 300)), Buffer.alloc(0));
  if (Object.keys(gauges).length > 0) process.stderr.write(`live: node state at the end ${JSON.stringify(gauges)}\n`);
  return { ...stats, udpReplies: replies.total, udpReplies400: replies.status400, warnLines: warnings };
}
