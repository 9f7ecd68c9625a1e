/**
 * The fuzz campaign's command line: bounded, seeded, run by hand (never in CI).
 *
 *   npx tsc -p . && node dist/test/fuzz/campaign/run.js --target parser|raft|raft3|live|all --seconds 480 --seed 7 [--out DIR] [--auth]
 *
 * parser: node/sip and the proxy/registrar/auth value parsers in process (plus the TCP stream framer);
 * raft: member and log-client ports of a real in-process single-member log; raft3: a three-member
 * log fed frames impersonating its members (every member must keep up); live: the built server
 * process over UDP and TCP (run it under `flock /tmp/siphon-bench.lock`, it takes a CPU; --auth turns
 * digest authentication on in the server).
 * Findings are printed and saved under --out (default a temp dir) as JSON with the input in base64;
 * the exit code is 1 when there is any. The same seed replays the same inputs (live and raft timing
 * aside), so a seed plus a target names a reproduction.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seeded } from '../../helpers/seeded.js';
import { loadCorpus } from './corpus.js';
import { Findings } from './findings.js';
import { runLiveTarget } from './live-target.js';
import { runParserTarget } from './parser-target.js';
import { runRaft3Target, runRaftTarget } from './raft-target.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<number> {
  const target = arg('target', 'parser');
  const seconds = Number(arg('seconds', '60'));
  const seed = Number(arg('seed', '1'));
  const out = arg('out', mkdtempSync(join(tmpdir(), 'siphon-fuzz-')));
  if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isInteger(seed)) throw new Error('--seconds N (> 0) and --seed S (integer) please');
  const targets = target === 'all' ? ['parser', 'raft', 'raft3', 'live'] : [target];
  const findings = new Findings();
  const started = Date.now();
  for (const t of targets) {
    const rand = seeded(seed);
    const t0 = Date.now();
    process.stderr.write(`fuzz ${t}: ${seconds} s, seed ${seed}\n`);
    let stats: Record<string, number>;
    if (t === 'parser') stats = runParserTarget({ seconds, seed, rand, corpus: loadCorpus(), budgetMs: 250 }, findings);
    else if (t === 'raft') stats = await runRaftTarget({ seconds, rand }, findings);
    else if (t === 'raft3') stats = await runRaft3Target({ seconds, rand }, findings);
    else if (t === 'live') stats = await runLiveTarget({ seconds, rand, corpusFor: (port) => loadCorpus('127.0.0.1', port), auth: process.argv.includes('--auth') }, findings);
    else throw new Error(`unknown target ${t}`);
    process.stdout.write(`${JSON.stringify({ target: t, seed, seconds: Math.round((Date.now() - t0) / 1000), ...stats })}\n`);
  }
  const list = findings.list();
  findings.save(out);
  process.stdout.write(`${JSON.stringify({ findings: list.length, wallSeconds: Math.round((Date.now() - started) / 1000), out })}\n`);
  for (const f of list) process.stdout.write(`  ${f.target}/${f.kind} x${f.count}: ${f.signature}\n`);
  return list.length > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
