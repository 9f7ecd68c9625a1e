// A few seconds of the fuzz campaign (test/fuzz/campaign) in CI, on fixed seeds: the parser target
// (node/sip plus the proxy/registrar/auth value parsers, the TCP stream framer and the super-linear
// scaling probe) and the raft target (member and client ports of a real single-member log). Every
// finding the long runs turned up has a case in the owning module's unit tests; this keeps the
// drivers themselves working and catches a regression the mutators reach quickly.
import { seeded } from '../helpers/seeded.js';
import { loadCorpus } from './campaign/corpus.js';
import { Findings } from './campaign/findings.js';
import { runParserTarget } from './campaign/parser-target.js';
import { runRaftTarget } from './campaign/raft-target.js';

const SECONDS = Number(process.env.SIP_CAMPAIGN_SECONDS ?? 4);

function report(f: Findings): string[] {
  return f.list().map((x) => `${x.target}/${x.kind} x${x.count}: ${x.signature}\n${x.message}\ninput ${x.input.toString('base64').slice(0, 2000)}`);
}

describe('fuzz campaign, short', () => {
  it(`parser target, ${SECONDS} s on seed 11: no finding`, () => {
    const findings = new Findings();
    const stats = runParserTarget({ seconds: SECONDS, seed: 11, rand: seeded(11), corpus: loadCorpus(), budgetMs: 1000 }, findings);
    expect(report(findings)).toEqual([]);
    expect(stats.inputs).toBeGreaterThan(0);
    expect(stats.parsed).toBeGreaterThan(stats.inputs / 4);
    expect(stats.scalingProbes).toBeGreaterThan(0);
  }, 60_000);

  it(`raft target, ${SECONDS} s on seed 1: the member keeps serving, no finding`, async () => {
    const findings = new Findings();
    const stats = await runRaftTarget({ seconds: SECONDS, rand: seeded(1) }, findings);
    expect(report(findings)).toEqual([]);
    expect(stats.bursts).toBeGreaterThan(0);
    expect(stats.peerConnections + stats.clientConnections).toBe(stats.bursts * 20);
  }, 60_000);
});
