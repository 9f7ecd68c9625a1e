// Deterministic simulation in CI: many seeds, each a full run with faults, safety checks after
// every event and a linearizability check of the client history. SIM_SEEDS / SIM_START override.
import { runSeed } from './sim/index.js';

const SEEDS = Number(process.env.SIM_SEEDS ?? 2000);
const START = Number(process.env.SIM_START ?? 1);

describe('raft deterministic simulation', () => {
  test('a seed reproduces exactly (same trace, same result)', () => {
    const a: string[] = [];
    const b: string[] = [];
    const ra = runSeed(7, { log: (l) => a.push(l) });
    const rb = runSeed(7, { log: (l) => b.push(l) });
    expect(rb).toEqual(ra);
    expect(b).toEqual(a);
    expect(a.length).toBeGreaterThan(10);
  });

  test(`${SEEDS} seeds: election safety, log matching, leader completeness, state machine safety, linearizability, liveness after heal`, () => {
    const failures: string[] = [];
    let events = 0;
    let commits = 0;
    let crashes = 0;
    let confChanges = 0;
    let snapshots = 0;
    const t0 = Date.now();
    for (let s = START; s < START + SEEDS; s++) {
      const r = runSeed(s);
      events += r.events;
      commits += r.commits;
      crashes += r.crashes;
      confChanges += r.confChanges;
      snapshots += r.snapshotsSent;
      if (!r.ok) failures.push(`seed ${s}: ${r.error?.split('\n')[0]} — reproduce: npm run sim -- --seed ${s} --verbose`);
    }
    const ms = Date.now() - t0;
    process.stdout.write(
      `raft sim: ${SEEDS} seeds in ${ms} ms (${(ms / SEEDS).toFixed(1)} ms/seed); ${events} events, ${commits} commits, ` +
        `${crashes} crashes, ${confChanges} conf changes proposed, ${snapshots} snapshots sent\n`,
    );
    expect(failures).toEqual([]);
    // The runs must actually exercise the faults they claim to.
    expect(crashes).toBeGreaterThan(SEEDS);
    expect(confChanges).toBeGreaterThan(SEEDS);
    expect(snapshots).toBeGreaterThan(SEEDS / 4);
  }, 600_000);
});
