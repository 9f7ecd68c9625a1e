/**
 * Garbage-resilience bench (issue 2 must-show): starts the REAL server process, records its idle
 * RSS, fires 1,000,000 garbage datagrams at it (random bytes, truncated SIP, mutated SIP), then
 * checks it is alive and that RSS comes back within 10% of idle. Merges `{garbage: {...}}` into
 * bench/results/parse.json (bench/parse.ts owns the throughput keys of that file).
 *
 * Run: `npx tsc -p . && node dist/bench/garbage.js [count]`. Bounded: the send phase is paced and
 * the settle phase gives up after 60 s.
 */
import { createSocket } from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { seeded as prng } from '../test/helpers/seeded.js';
import { startServer } from '../test/helpers/server-process.js';
import { TYPICAL_INVITE, TYPICAL_REGISTER, mergeResults } from './lib/index.js';

const OPTIONS = Buffer.from(
  'OPTIONS sip:bench@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbench;rport\r\nMax-Forwards: 70\r\n' +
    'From: <sip:g@127.0.0.1>;tag=1\r\nTo: <sip:bench@127.0.0.1>\r\nCall-ID: garbage-bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
);

/** A pool of distinct garbage datagrams in three families. */
export function garbagePool(size: number, seed: number): Buffer[] {
  const rnd = prng(seed);
  const bases = [TYPICAL_INVITE, TYPICAL_REGISTER, OPTIONS];
  const pool: Buffer[] = [];
  for (let i = 0; i < size; i++) {
    const kind = i % 3;
    const base = bases[Math.floor(rnd() * bases.length)];
    if (kind === 0) {
      const b = Buffer.alloc(1 + Math.floor(rnd() * 1400));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      pool.push(b);
    } else if (kind === 1) {
      pool.push(Buffer.from(base.subarray(0, Math.floor(rnd() * base.length))));
    } else {
      const b = Buffer.from(base);
      const edits = 1 + Math.floor(rnd() * 8);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * b.length);
        const op = rnd();
        if (op < 0.4) b[at] = Math.floor(rnd() * 256);
        else if (op < 0.6) b[at] = 0; // NUL
        else if (op < 0.8) b[at] = [13, 10, 32, 58, 59, 44, 60, 62][Math.floor(rnd() * 8)];
        else b.write('99999999999999999999', Math.min(at, b.length - 20), 'latin1'); // huge numbers
      }
      pool.push(b);
    }
  }
  return pool;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface GarbageResult {
  datagrams_sent: number;
  warmup_datagrams: number;
  /** Datagrams the server actually read (sent minus kernel drops), excluding the warm-up. */
  server_received: number;
  pacing_stalls: number;
  /** RSS 2 s after start, before any traffic. */
  cold_idle_rss_bytes: number;
  send_duration_ms: number;
  send_rate_per_s: number;
  /** RSS after a warm-up of garbage and 5 s of quiet: the baseline for the 10% target. */
  idle_rss_bytes: number;
  peak_rss_bytes: number;
  final_rss_bytes: number;
  final_over_idle: number;
  within_10pct: boolean;
  alive: boolean;
  server_parse_errors: number;
  server_requests: number;
  server_responses_sent: number;
  settle_ms: number;
  node: string;
  date: string;
}

async function adminJson(port: number, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return (await res.json()) as Record<string, unknown>;
}

export async function runGarbageBench(count = 1_000_000, seed = 42): Promise<GarbageResult> {
  const server = await startServer({ config: { log: { level: 'warn', format: 'json', file: null } } });
  const client = createSocket('udp4');
  try {
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    client.on('message', () => undefined); // drain answers to mutated-but-valid requests
    await sleep(2000);
    const coldIdle = await server.rss();
    const pool = garbagePool(20_000, seed);
    const received = async (): Promise<number> => ((await adminJson(server.adminPort, '/admin/stats')) as { sip: Record<string, number> }).sip.received;
    // Paced so the server's socket never overflows (loss would mean fewer than `count` datagrams
    // actually exercised the parser): at most WINDOW datagrams in flight beyond what it has consumed.
    const BURST = 200;
    const WINDOW = 2000;
    let sent = 0;
    const sendUpTo = async (target: number, onProgress?: (n: number) => Promise<void>): Promise<number> => {
      let stalls = 0;
      while (sent < target) {
        const n = Math.min(BURST, target - sent);
        await new Promise<void>((resolve) => {
          let left = n;
          for (let i = 0; i < n; i++) {
            client.send(pool[(sent + i) % pool.length], server.sipPort, '127.0.0.1', () => {
              if (--left === 0) resolve();
            });
          }
        });
        sent += n;
        if (sent % WINDOW === 0) {
          const waitStart = performance.now();
          while ((await received()) < sent - WINDOW) {
            if (performance.now() - waitStart > 5000) {
              stalls++;
              break;
            }
            await sleep(2);
          }
        }
        if (onProgress && sent % 100_000 === 0) await onProgress(sent);
      }
      return stalls;
    };
    // Warm-up: JIT, code space and pools grow once; "idle" is measured after that has settled.
    const warmup = Math.min(20_000, Math.floor(count / 10));
    await sendUpTo(warmup);
    await sleep(5000);
    const idle = await server.rss();
    let peak = idle;
    const t0 = performance.now();
    const baseSent = sent;
    const stalls = await sendUpTo(warmup + count, async (n) => {
      peak = Math.max(peak, await server.rss());
      process.stdout.write(`garbage: ${n - baseSent} sent\n`);
    });
    sent -= baseSent;
    const sendMs = performance.now() - t0;
    // Settle: wait for RSS to come back (GC is lazy when idle), bounded at 60 s.
    const settleStart = performance.now();
    let final = await server.rss();
    peak = Math.max(peak, final);
    while (final > idle * 1.1 && performance.now() - settleStart < 60_000) {
      await sleep(1000);
      final = await server.rss();
    }
    const settleMs = performance.now() - settleStart;
    // Alive: health is 200 and a real OPTIONS is answered.
    let alive = false;
    try {
      const health = await fetch(`http://127.0.0.1:${server.adminPort}/admin/health`);
      const answered = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 3000);
        const probe = createSocket('udp4');
        probe.on('message', (m) => {
          clearTimeout(t);
          probe.close();
          resolve(m.toString('latin1').startsWith('SIP/2.0 200'));
        });
        probe.bind(0, '127.0.0.1', () => probe.send(OPTIONS, server.sipPort, '127.0.0.1'));
      });
      alive = health.status === 200 && (await answered);
    } catch {
      alive = false;
    }
    const stats = (await adminJson(server.adminPort, '/admin/stats')) as { sip: Record<string, number> };
    return {
      datagrams_sent: sent,
      warmup_datagrams: warmup,
      server_received: stats.sip.received - warmup,
      pacing_stalls: stalls,
      cold_idle_rss_bytes: coldIdle,
      send_duration_ms: Math.round(sendMs),
      send_rate_per_s: Math.round((sent / sendMs) * 1000),
      idle_rss_bytes: idle,
      peak_rss_bytes: peak,
      final_rss_bytes: final,
      final_over_idle: Number((final / idle).toFixed(3)),
      within_10pct: final <= idle * 1.1,
      alive,
      server_parse_errors: stats.sip.parse_errors,
      server_requests: stats.sip.requests,
      server_responses_sent: stats.sip.responses_sent,
      settle_ms: Math.round(settleMs),
      node: process.version,
      date: new Date().toISOString(),
    };
  } finally {
    client.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1_000_000);
  const result = await runGarbageBench(count);
  mergeResults('parse', { garbage: result });
  process.stdout.write(`${JSON.stringify({ garbage: result }, null, 2)}\n`);
  if (!result.alive) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
