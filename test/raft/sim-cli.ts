// `npm run sim -- --seeds 100000 [--start N] [--seed N --verbose]`
// Runs the deterministic Raft simulation over many seeds; a failure prints its seed and a
// one-line reproduction. A seed always replays the identical run.
import { runSeed } from './sim/index.js';

interface Args {
  seeds: number;
  start: number;
  seed: number | undefined;
  verbose: boolean;
  faultMs: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 1000, start: 1, seed: undefined, verbose: false, faultMs: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n)) throw new Error(`${k} needs a number`);
      return n;
    };
    if (k === '--seeds') a.seeds = v();
    else if (k === '--start') a.start = v();
    else if (k === '--seed') a.seed = v();
    else if (k === '--verbose' || k === '-v') a.verbose = true;
    else if (k === '--fault-ms') a.faultMs = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const opts = args.faultMs === undefined ? {} : { faultMs: args.faultMs };
  if (args.seed !== undefined) {
    const r = runSeed(args.seed, args.verbose ? { ...opts, log: (l) => process.stdout.write(`${l}\n`) } : opts);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.ok ? 0 : 1;
  }
  const t0 = Date.now();
  let failed = 0;
  let events = 0;
  let exhausted = 0;
  const end = args.start + args.seeds;
  for (let s = args.start; s < end; s++) {
    const r = runSeed(s, opts);
    events += r.events;
    if (r.linearizabilityExhausted) exhausted++;
    if (!r.ok) {
      failed++;
      process.stdout.write(`FAIL seed=${s}: ${r.error?.split('\n')[0]}\n  reproduce: npm run sim -- --seed ${s} --verbose\n`);
    }
    const done = s - args.start + 1;
    if (done % 500 === 0 || s === end - 1) {
      const ms = Date.now() - t0;
      process.stdout.write(`${done}/${args.seeds} seeds, ${failed} failed, ${(ms / done).toFixed(1)} ms/seed, ${Math.round(events / done)} events/seed\n`);
    }
  }
  if (exhausted) process.stdout.write(`${exhausted} seeds hit the linearizability search budget (counted as passing)\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main();
