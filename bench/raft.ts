/**
 * Replicated append: SIPhon-TS's log vs etcd 3.4, same box, same run, same closed-loop harness.
 * 3 members as 3 processes on loopback, fsync on, 256-byte entries, C = 1/16/64/256 writers, each
 * waiting for its commit ack before the next write. etcd is driven through the baseline harness in
 * ../shared/bench/raft (etcd-cluster.sh + append-load.mjs --target etcd); ours through the copy in
 * bench/raft/append-load.mjs (--target ourlog: one pre-connected TCP client per writer, to the leader).
 *
 *   node dist/bench/raft.js [--reps 2] [--conc 1,16,64,256] [--skip-etcd] [--scale 1] [--out FILE]
 *
 * SIPHON_RAFT_TRACE=1 in the environment makes each member print per-stage commit timings on exit
 * (cluster/log/commit-trace.ts). --ours-no-fsync runs our members without fsync (a diagnostic floor: what the disk costs us; never a
 * reported result). --conc 1 --scale 0.4 --out /tmp/x.json is the quick iteration loop (fewer writes, results kept out
 * of bench/results). Writes bench/results/raft.json: raw runs, medians, ratio.cN = ours ÷ etcd ops/s, and the p99s.
 * Each system gets the same unmeasured warm-up (WARMUP) before its sweep, so every step measures steady state.
 * Target (issue 3): ≥ 2× etcd's ops/s at every concurrency with p99 ≤ etcd's.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RAFT_NODE_V8_FLAGS } from '../ops/raft-cluster.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const etcdHarness = process.env.ETCD_HARNESS ?? path.resolve(root, '../shared/bench/raft');
const ourHarness = path.join(root, 'bench/raft/append-load.mjs');
const raftNode = path.join(root, 'dist/ops/raft-node.js');

/** Writes per run, sized so a run lasts a few seconds on this box (bounded by --max-seconds anyway). */
const WRITES: Record<number, number> = { 1: 5000, 16: 8000, 64: 12000, 256: 15000 };
const MAX_SECONDS = 12;
/**
 * Unmeasured warm-up before each system's sweep: [concurrency, writes]. The c1 part is long because
 * c1 is measured first and a Node member compiles its one-writer path (inline fdatasync, single-entry
 * batches) only under that load: a per-500-writes timeline of ours after the old 1,000-write c1
 * warm-up read 0.70 0.67 0.61 0.58 then 0.50-0.52 ms, steady from ~3 s in. etcd is flat from the
 * start (c1 897 / 947 / 836 ops/s for 2,500 / 10,000 / 2,500 writes in one run), so both now
 * measure what a running cluster serves.
 */
const WARMUP: ReadonlyArray<readonly [number, number]> = [[16, 4000], [1, 4000]];
/** Unmeasured writes at the start of each measured run (a fresh harness process: connections, JIT). */
const RUN_WARMUP = 500;
/** --scale multiplies WRITES (shorter runs while iterating); set once in main(). */
let writesScale = 1;

interface Run {
  system: 'etcd' | 'ours';
  rep: number;
  concurrency: number;
  writes: number;
  seconds: number;
  opsPerSec: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  errors: number;
  serverCpuPct?: number;
  [k: string]: unknown;
}

function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
      t += Number(parts[11]) + Number(parts[12]); // utime + stime
    } catch {
      // process gone
    }
  }
  return t;
}

function runHarness(script: string, cwd: string, args: string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', timeout: (MAX_SECONDS + 40) * 1000 });
  const line = out.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, unknown>;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => r(s)); })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function sweep(system: 'etcd' | 'ours', rep: number, concs: number[], harnessArgs: string[], script: string, cwd: string, pids: number[]): Run[] {
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const runs: Run[] = [];
  // Unmeasured warm-up, identical for both systems: steady state is what a cluster serves. Without it
  // the first measured step (c1) catches freshly started members (V8 compiling our hot paths for
  // ~2 s, connections and caches on both sides) and measures start-up, not commit latency.
  for (const [c, writes] of WARMUP) {
    runHarness(script, cwd, [
      ...harnessArgs, '--writes', String(Math.max(50, Math.round(writes * writesScale))), '--concurrency', String(c),
      '--value-bytes', '256', '--max-seconds', String(MAX_SECONDS), '--timeout-ms', '10000',
    ]);
  }
  for (const c of concs) {
    const k0 = cpuTicks(pids);
    const r = runHarness(script, cwd, [
      ...harnessArgs, '--writes', String(Math.max(100, Math.round((WRITES[c] ?? 10000) * writesScale))), '--concurrency', String(c),
      '--warmup', String(Math.max(2 * c, Math.round(RUN_WARMUP * writesScale))), '--value-bytes', '256', '--max-seconds', String(MAX_SECONDS), '--timeout-ms', '10000',
    ]) as unknown as Run;
    const k1 = cpuTicks(pids);
    const run: Run = { ...r, system, rep, serverCpuPct: Math.round(((k1 - k0) / hz / Math.max(r.seconds, 1e-9)) * 1000) / 10 };
    process.stdout.write(`${system} rep ${rep} C=${c}: ${run.opsPerSec} ops/s, p50 ${run.p50ms} ms, p99 ${run.p99ms} ms, errors ${run.errors}, server CPU ${run.serverCpuPct}%\n`);
    runs.push(run);
  }
  return runs;
}

function etcdSweep(rep: number, concs: number[], work: string): Run[] {
  const env = { ...process.env, ETCDBENCH_DIR: path.join(work, 'etcd') };
  const sh = path.join(etcdHarness, 'etcd-cluster.sh');
  execFileSync(sh, ['start', '3'], { env, stdio: 'ignore', timeout: 60_000 });
  try {
    const pidDir = path.join(work, 'etcd', 'pids');
    const pids = ['m1', 'm2', 'm3'].map((m) => Number(readFileSync(path.join(pidDir, `${m}.pid`), 'utf8').trim()));
    const eps = execFileSync(sh, ['endpoints'], { env, encoding: 'utf8' }).trim();
    return sweep('etcd', rep, concs, ['--target', 'etcd', '--endpoints', eps, '--pick', 'leader'], path.join(etcdHarness, 'append-load.mjs'), etcdHarness, pids);
  } finally {
    execFileSync(sh, ['stop'], { env, stdio: 'ignore', timeout: 60_000 });
  }
}

async function ourSweep(rep: number, concs: number[], work: string, noFsync: boolean): Promise<Run[]> {
  const ports = await freePorts(6);
  const dataRoot = path.join(work, `ours-${rep}`);
  mkdirSync(dataRoot, { recursive: true });
  const peers = [1, 2, 3].map((id, i) => `${id}=127.0.0.1:${ports[2 * i]}`).join(',');
  const children: ChildProcess[] = [];
  try {
    for (const [i, id] of [1, 2, 3].entries()) {
      const child = spawn(
        process.execPath,
        [...RAFT_NODE_V8_FLAGS, raftNode, '--id', String(id), '--listen', `127.0.0.1:${ports[2 * i]}`, '--peers', peers,
          '--data', path.join(dataRoot, `n${id}`), '--client', `127.0.0.1:${ports[2 * i + 1]}`,
          ...(noFsync ? ['--no-fsync'] : [])],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`raft-node ${id} did not start`)), 15_000);
        child.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('"ready":true')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
    }
    await new Promise((r) => setTimeout(r, 1500)); // first election
    const eps = [1, 3, 5].map((k) => `127.0.0.1:${ports[k]}`).join(',');
    return sweep('ours', rep, concs, ['--target', 'ourlog', '--endpoints', eps, '--pick', 'leader'], ourHarness, root, children.map((c) => c.pid!));
  } finally {
    for (const c of children) if (c.exitCode === null) process.kill(c.pid!, 'SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: { reps: { type: 'string', default: '2' }, conc: { type: 'string', default: '1,16,64,256' }, 'skip-etcd': { type: 'boolean' },
      scale: { type: 'string', default: '1' },
      'ours-no-fsync': { type: 'boolean' },
      out: { type: 'string', default: path.join(root, 'bench/results/raft.json') },
    },
  });
  const reps = Number(v.reps);
  writesScale = Number(v.scale);
  const concs = v.conc!.split(',').map(Number);
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-raft-'));
  const runs: Run[] = [];
  const failures: string[] = [];
  const load0 = os.loadavg();
  // A failed sweep is recorded and the other system still measured: partial figures beat none.
  const guarded = async (what: string, f: () => Promise<Run[]> | Run[]): Promise<void> => {
    try {
      runs.push(...(await f()));
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
      process.stderr.write(`${what} failed: ${(e as Error).message}\n`);
    }
  };
  try {
    for (let rep = 1; rep <= reps; rep++) {
      // Alternate the order so slow drift of the shared box hits both systems alike.
      const etcd = () => (v['skip-etcd'] ? Promise.resolve() : guarded(`etcd rep ${rep}`, () => etcdSweep(rep, concs, work)));
      const ours = () => guarded(`ours rep ${rep}`, () => ourSweep(rep, concs, work, v['ours-no-fsync'] ?? false));
      if (rep % 2 === 1) {
        await etcd();
        await ours();
      } else {
        await ours();
        await etcd();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const summary: Record<string, Record<string, { opsPerSec: number; p50ms: number; p99ms: number }>> = { ours: {}, etcd: {} };
  for (const sys of ['ours', 'etcd'] as const) {
    for (const c of concs) {
      const rs = runs.filter((r) => r.system === sys && r.concurrency === c);
      if (rs.length === 0) continue;
      summary[sys][`c${c}`] = {
        opsPerSec: median(rs.map((r) => r.opsPerSec)),
        p50ms: median(rs.map((r) => r.p50ms)),
        p99ms: median(rs.map((r) => r.p99ms)),
      };
    }
  }
  const ratio: Record<string, number | null> = {};
  const p99: Record<string, { ours: number; etcd: number | null }> = {};
  for (const c of concs) {
    const o = summary.ours[`c${c}`];
    const e = summary.etcd[`c${c}`];
    ratio[`c${c}`] = o && e ? Math.round((o.opsPerSec / e.opsPerSec) * 100) / 100 : null;
    p99[`c${c}`] = { ours: o?.p99ms ?? NaN, etcd: e?.p99ms ?? null };
  }
  const targetMet = concs.every((c) => (ratio[`c${c}`] ?? 0) >= 2 && p99[`c${c}`].ours <= (p99[`c${c}`].etcd ?? 0));
  const result = {
    bench: 'raft',
    date: new Date().toISOString(),
    setup: `3 members, 3 processes, loopback, ${v['ours-no-fsync'] ? 'OURS WITHOUT FSYNC (diagnostic)' : 'fsync on'}, 256-byte entries, closed-loop writers to the leader; medians over reps`,
    warmup: `unmeasured, same for both systems before each sweep: ${WARMUP.map(([c, w]) => `${w} writes at C=${c}`).join(', then ')}; and max(2C, ${RUN_WARMUP}) writes at the start of each measured run`,
    reps,
    loadAvgBefore: load0,
    loadAvgAfter: os.loadavg(),
    summary,
    ratio,
    p99,
    target: '>= 2x etcd ops/s at every C, p99 <= etcd',
    targetMet,
    failures,
    runs,
  };
  mkdirSync(path.dirname(v.out!), { recursive: true });
  writeFileSync(v.out!, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`ratio (ours/etcd ops/s): ${JSON.stringify(ratio)}\np99 ms: ${JSON.stringify(p99)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench:raft: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
