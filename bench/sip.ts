/**
 * `npm run bench:sip` (dist/bench/sip.js): REGISTER/s and calls/s (INVITE…BYE, 0 ms hold) at which
 * failures and retransmissions stay 0, for this server and for Kamailio 5.6 on the same machine in
 * the same run, with the same SIPp load (../shared/bench/run-peer.sh). A short step ladder per
 * peer and mode (each stops at its first unclean step after one retry, made once the failed step's
 * transactions have ended), then a `node --cpu-prof`
 * profile of our server at its top clean REGISTER rate. Writes bench/results/sip.json with the raw
 * RESULT lines, the maxima, `ratio.register` and `ratio.calls` (ours ÷ Kamailio) and the top-10
 * self-time functions, the harness's own REGISTER ceiling (SIPp against a stateless C responder at
 * the rates the target needs), CPU per request of both peers at the rates both ran clean, and a
 * flood past capacity with overload control off and on. Loopback only; every process it starts is
 * stopped by PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, type ServerProcess } from '../test/helpers/server-process.js';
import { mergeResults, projectRoot, resultsPath } from './lib/index.js';
import { summariseProfile, type SelfTime } from './sip/cpu-profile.js';
import { buildNullResponder, startNullResponder } from './sip/harness-ceiling.js';
import { parseResultLine, type StepResult } from './sip/result-line.js';

type Mode = 'register' | 'call';

const ROOT = projectRoot();
const SHARED = join(ROOT, '..', 'shared', 'bench');
const KAMAILIO = join(SHARED, 'peers', 'kamailio');
const KAMAILIO_TARGET = '127.0.0.1:5070';
/** Seconds of load per step (count = rate × this). */
const STEP_S = Number(process.env.SIP_BENCH_STEP_S ?? 5);
/** Whole-run budget: later steps are skipped once it is spent. */
const BUDGET_MS = Number(process.env.SIP_BENCH_BUDGET_S ?? 1200) * 1000;
/** Before retrying a failed step: 64·T1 at the default T1 (both peers run 500 ms), and a little more. */
const RETRY_SETTLE_MS = Number(process.env.SIP_BENCH_RETRY_SETTLE_S ?? 35) * 1000;

// One ladder for both peers, starting low enough to give a clean figure on a busy shared box, and
// reaching past what either peer sustains here so neither maximum is capped by the ladder.
const RATES: Record<Mode, number[]> = {
  register: [1000, 2000, 3000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 22000, 24000, 26000],
  call: [250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000, 3500, 4000, 4500, 5000],
};
const LADDER: Record<'ours' | 'kamailio', Record<Mode, number[]>> = { ours: RATES, kamailio: RATES };

const started = Date.now();
const outOfTime = (): boolean => Date.now() - started > BUDGET_MS;

function log(msg: string): void {
  process.stderr.write(`[bench:sip +${Math.round((Date.now() - started) / 1000)}s] ${msg}\n`);
}

async function runStep(
  target: string,
  mode: Mode,
  rate: number,
  peerPid: number,
  resultsFile: string,
  uasPort: number,
  seconds: number = STEP_S,
): Promise<StepResult | null> {
  const env = {
    ...process.env,
    PEER_PID: String(peerPid),
    HOLD_MS: '0',
    UAC_PORT: String(await freePort()),
    // One callee port per ladder (as run-peer.sh's fixed default): the UAS re-registers the same
    // contact each step. A new port per step left the previous steps' dead contacts registered, and
    // every call then forked to them too, retransmitting INVITEs for 64·T1 — measuring dead-branch
    // handling rather than the short calls this benchmark is about (both peers alike).
    UAS_PORT: String(uasPort),
    // The box is shared: wait a little for quiet, never long.
    QUIET_WAIT_S: process.env.QUIET_WAIT_S ?? '5',
    RESULTS: resultsFile,
  };
  const count = Math.max(1, Math.round(rate * seconds));
  return new Promise((resolve) => {
    const child = spawn('bash', [join(SHARED, 'run-peer.sh'), target, mode, String(rate), String(count)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 90) * 1000);
    child.on('exit', () => {
      clearTimeout(timer);
      stopStraySipp([env.UAC_PORT, env.UAS_PORT]);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) log(`no RESULT line from run-peer.sh:\n${out.slice(-800)}`);
      resolve(line === undefined ? null : parseResultLine(line));
    });
  });
}

/**
 * A SIPp run-peer.sh started and left running after its step (seen: a callee SIPp still bound 43
 * minutes later, so the next step on its port failed with EADDRINUSE). Found by its `-p PORT`
 * argument and stopped by PID.
 */
function stopStraySipp(ports: readonly string[]): void {
  for (const port of ports) {
    const found = spawnSync('pgrep', ['-f', `^sipp .* -p ${port} `], { encoding: 'utf8' });
    for (const pid of found.stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
      try {
        process.kill(pid, 'SIGKILL');
        log(`stopped a SIPp left running on port ${port} (pid ${pid})`);
      } catch {
        // already gone
      }
    }
  }
}

interface Ladder {
  readonly steps: StepResult[];
  readonly maxClean: number | null;
}

/** Climbs the rates; a failed step is retried once (shared box noise) before the ladder stops. */
async function ladder(name: string, target: string, mode: Mode, rates: readonly number[], pid: number, resultsFile: string): Promise<Ladder> {
  const steps: StepResult[] = [];
  const uasPort = await freePort();
  let maxClean: number | null = null;
  for (const rate of rates) {
    if (outOfTime()) {
      log(`${name} ${mode}: time budget spent, stopping at ${rate}/s`);
      break;
    }
    let clean = false;
    for (let attempt = 0; attempt < 2 && !clean; attempt++) {
      if (attempt > 0) {
        // A failed step leaves the peer retransmitting its client transactions to the callee's port
        // for up to 64·T1 (Timer B/F, 32 s): a retry started sooner has its fresh callee count that
        // residue as failures (seen: 0 failed calls on the caller side, 2,690 on the callee's).
        // Both peers wait the same before their retry, so it measures the rate, not the last step.
        log(`${name} ${mode} ${rate}/s: waiting ${RETRY_SETTLE_MS / 1000} s for the failed step's transactions to end before the retry`);
        await new Promise((r) => setTimeout(r, RETRY_SETTLE_MS));
      }
      const r = await runStep(target, mode, rate, pid, resultsFile, uasPort);
      if (r === null) continue;
      steps.push(r);
      clean = r.clean;
      log(`${name} ${mode} ${rate}/s: ${clean ? 'clean' : 'NOT clean'} (failed=${r.fields.failed} retrans=${r.fields.retrans} p99=${r.fields.p99_ms}ms peer_cpu=${r.fields.peer_cpu})`);
    }
    if (!clean) break;
    maxClean = rate;
  }
  return { steps, maxClean };
}

function startKamailio(): number {
  const r = spawnSync('bash', [join(KAMAILIO, 'start.sh')], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim().split('\n').pop());
  if (r.status !== 0 || !Number.isInteger(pid)) throw new Error(`kamailio did not start: ${r.stdout}${r.stderr}`);
  return pid;
}

function stopKamailio(): void {
  spawnSync('bash', [join(KAMAILIO, 'stop.sh')], { encoding: 'utf8' });
}

async function startOurs(nodeArgs: readonly string[] = [], config: Record<string, unknown> = {}): Promise<ServerProcess> {
  // The same V8 flags as `npm start` / the siphon bin (a 16 MiB semi-space), and the start-up warm-up
  // on as shipped (the test helper turns it off).
  return startServer({ config: { log: { format: 'json', level: 'warn' }, warmup: { enabled: true }, ...config }, nodeArgs: ['--max-semi-space-size=16', ...nodeArgs] });
}

/** Calls/s offered in the overload comparison, and for how long (the node serves ~2,750/s clean). */
const FLOOD_RATE = Number(process.env.SIP_BENCH_FLOOD_RATE ?? 4000);
const FLOOD_S = 10;

/**
 * Past capacity, with overload control off (the default) and on: a warm node (5 s at 1,000 calls/s)
 * is offered FLOOD_RATE calls/s for FLOOD_S; what completes, how late, what the socket dropped and
 * the resident memory at the end. Calls answered 503 count as failed in SIPp's figures.
 */
async function overloadComparison(resultsFile: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const enabled of [false, true]) {
    const node = await startOurs([], { overload: { enabled } });
    try {
      const target = `127.0.0.1:${node.sipPort}`;
      const uasPort = await freePort();
      const warm = await runStep(target, 'call', 1000, node.pid, resultsFile, uasPort);
      log(`overload ${enabled ? 'on' : 'off'}: warm-up at 1000 calls/s ${warm?.clean === true ? 'clean' : 'NOT clean'}`);
      let r = await runStep(target, 'call', FLOOD_RATE, node.pid, resultsFile, uasPort, FLOOD_S);
      if (r === null) {
        // The warm-up's callee SIPp can hold its port a moment after its step (EADDRINUSE): once more.
        await new Promise((res) => setTimeout(res, 5000));
        r = await runStep(target, 'call', FLOOD_RATE, node.pid, resultsFile, uasPort, FLOOD_S);
      }
      const rssMb = Math.round((await node.rss()) / 1048576);
      if (r === null) continue;
      const f = r.fields;
      out.push({
        overload_enabled: enabled,
        offered_per_s: FLOOD_RATE,
        seconds: FLOOD_S,
        succeeded: Number(f.succeeded),
        failed: Number(f.failed),
        completed_per_s: Number(f.achieved_cps),
        retrans: Number(f.retrans),
        socket_drops: Number(f.peer_sock_drops),
        p50_ms: Number(f.p50_ms),
        p99_ms: Number(f.p99_ms),
        rss_mb_after: rssMb,
      });
      log(`overload ${enabled ? 'on' : 'off'} at ${FLOOD_RATE} calls/s: ${f.achieved_cps}/s completed, p99 ${f.p99_ms} ms, drops ${f.peer_sock_drops}, rss ${rssMb} MB`);
    } finally {
      await node.stop();
    }
  }
  return out;
}

/**
 * Process CPU per REGISTER / per call of each peer (run-peer.sh's peer_cpu_us_per_call), at every rate
 * both peers ran clean, and ours ÷ Kamailio's: the per-request cost, independent of how many cores
 * each peer can spread over.
 */
function cpuPerRequest(lines: readonly string[]): Record<Mode, { rate: number; ours: number; kamailio: number; ratio: number }[]> {
  const clean = new Map<string, number>();
  for (const l of lines) {
    const peer = l.slice(0, l.indexOf(' '));
    const r = parseResultLine(l);
    if (r === null || !r.clean) continue;
    clean.set(`${peer} ${r.fields.mode} ${r.rate}`, Number(r.fields.peer_cpu_us_per_call));
  }
  const out: Record<Mode, { rate: number; ours: number; kamailio: number; ratio: number }[]> = { register: [], call: [] };
  for (const mode of ['register', 'call'] as const) {
    for (const rate of RATES[mode]) {
      const ours = clean.get(`ours ${mode} ${rate}`);
      const kamailio = clean.get(`kamailio ${mode} ${rate}`);
      if (ours === undefined || kamailio === undefined || !(kamailio > 0)) continue;
      out[mode].push({ rate, ours, kamailio, ratio: Math.round((100 * ours) / kamailio) / 100 });
    }
  }
  return out;
}

/** REGISTER steps against the C null responder at the rate the target asks for and at the ladder's top. */
async function harnessCeiling(work: string, resultsFile: string, kamailioRegister: number | null): Promise<unknown> {
  const built = buildNullResponder(ROOT, work);
  if ('skipped' in built) return { skipped: built.skipped };
  const targetRate = kamailioRegister === null ? null : Math.ceil(kamailioRegister * 1.5);
  const rates = [...new Set([targetRate, RATES.register[RATES.register.length - 1]].filter((r): r is number => r !== null))];
  const responder = await startNullResponder(built.bin, await freePort());
  const steps: { rate: number; clean: boolean; line: string }[] = [];
  try {
    for (const rate of rates) {
      const r = await runStep(responder.target, 'register', rate, responder.pid, resultsFile, await freePort());
      if (r === null) continue;
      steps.push({ rate, clean: r.clean, line: r.line });
      log(`harness ceiling (null responder) register ${rate}/s: ${r.clean ? 'clean' : 'NOT clean'} (load sipp cpu=${r.fields.load_sipp_cpu})`);
    }
  } finally {
    responder.stop();
  }
  return { responder: 'bench/ceiling/null-registrar.c', register_rate_for_target: targetRate, steps };
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((100 * a) / b) / 100);

async function main(): Promise<void> {
  const setup = spawnSync('bash', [join(SHARED, 'setup.sh')], { encoding: 'utf8' });
  if (setup.status !== 0) throw new Error(`../shared/bench/setup.sh failed:\n${setup.stdout}${setup.stderr}`);
  const work = mkdtempSync(join(tmpdir(), 'siphon-bench-sip-'));
  const resultsFile = join(work, 'results.txt');
  const max: Record<string, Record<Mode, number | null>> = { ours: { register: null, call: null }, kamailio: { register: null, call: null } };
  const lines: string[] = [];

  for (const mode of ['register', 'call'] as const) {
    const ours = await startOurs();
    try {
      const l = await ladder('ours', `127.0.0.1:${ours.sipPort}`, mode, LADDER.ours[mode], ours.pid, resultsFile);
      max.ours[mode] = l.maxClean;
      lines.push(...l.steps.map((s) => `ours ${s.line}`));
    } finally {
      await ours.stop();
    }
    stopKamailio(); // a leftover from an interrupted run
    const kam = startKamailio();
    try {
      const l = await ladder('kamailio', KAMAILIO_TARGET, mode, LADDER.kamailio[mode], kam, resultsFile);
      max.kamailio[mode] = l.maxClean;
      lines.push(...l.steps.map((s) => `kamailio ${s.line}`));
    } finally {
      stopKamailio();
    }
  }

  const overload = await overloadComparison(resultsFile);

  // Can this box and SIPp carry the load the targets ask for at all? (Stop 6's note guessed not; measure it.)
  const ceiling = await harnessCeiling(work, resultsFile, max.kamailio.register);

  // Where our time goes at the top clean REGISTER rate.
  let profile: { rate: number; total_ms: number; top: SelfTime[]; result: string | null } | null = null;
  const profRate = max.ours.register ?? LADDER.ours.register[0];
  const profDir = join(work, 'cpuprofile');
  const profiled = await startOurs(['--cpu-prof', '--cpu-prof-dir', profDir]);
  let profResult: StepResult | null = null;
  try {
    profResult = await runStep(`127.0.0.1:${profiled.sipPort}`, 'register', profRate, profiled.pid, resultsFile, await freePort());
  } finally {
    await profiled.stop(15_000);
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file !== undefined) {
    const s = summariseProfile(join(profDir, file), 10, ROOT);
    profile = { rate: profRate, ...s, result: profResult?.line ?? null };
  }

  const result = {
    generated_at: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    method: {
      load: '../shared/bench/run-peer.sh (SIPp, UDP, loopback), same scenarios for both peers',
      step_seconds: STEP_S,
      hold_ms: 0,
      clean: 'rc=0, failed=0, retrans=0 (UAC+UAS), succeeded=attempted; a failed step is retried once, then the ladder stops',
      ladders: LADDER,
    },
    max_clean: {
      register_per_s: { ours: max.ours.register, kamailio: max.kamailio.register },
      calls_per_s: { ours: max.ours.call, kamailio: max.kamailio.call },
    },
    ratio: { register: ratio(max.ours.register, max.kamailio.register), calls: ratio(max.ours.call, max.kamailio.call) },
    targets: { register: 1.5, calls: 1.2 },
    cpu_us_per_request: cpuPerRequest(lines),
    harness_ceiling: ceiling,
    overload_flood: overload,
    raw: lines,
    cpu_profile: profile,
  };
  mergeResults('sip', result);
  log(`wrote ${resultsPath('sip')}: ratio.register=${result.ratio.register} ratio.calls=${result.ratio.calls}`);
  process.stdout.write(`${JSON.stringify({ max_clean: result.max_clean, ratio: result.ratio }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  stopKamailio();
  process.stderr.write(`bench:sip failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
