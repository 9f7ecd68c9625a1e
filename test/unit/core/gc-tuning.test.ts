// tuneGarbageCollector turns off V8's allocation-site pretenuring (why: gc-tuning.ts). Checked in a
// child process, where V8's own natives can tell whether a fresh object was allocated young: after a
// site's objects all survived many scavenges, V8 allocates its next ones in the old generation,
// unless the node's tuning ran first.
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../helpers/server-process.js';

const TUNING = pathToFileURL(join(REPO_ROOT, 'dist', 'node', 'core', 'gc-tuning.js')).href;

/** How many of 100 objects made right after a site's objects survived 20 scavenges were allocated old. */
function pretenuredAfterSurvivals(tuned: boolean): number {
  const script = `
    import { tuneGarbageCollector } from ${JSON.stringify(TUNING)};
    if (${tuned}) tuneGarbageCollector();
    const keep = [];
    function make(i) { return { i, pad: [i, i] }; }
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5000; i++) keep.push(make(i));
      globalThis.gc({ type: 'minor' });
    }
    let old = 0;
    for (let i = 0; i < 100; i++) if (!%InYoungGeneration(make(i))) old++;
    process.stdout.write(String(old));`;
  // A pretenuring decision reaches \`make\` when V8 recompiles it. On a background thread that can
  // land after the 100 are made (seen on a loaded box: 0 pretenured); compiled on the main thread,
  // the decision is in place before the count.
  const flags = ['--allow-natives-syntax', '--expose-gc', '--no-concurrent-recompilation', '--input-type=module'];
  const out = execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' });
  return Number(out);
}

describe('tuneGarbageCollector', () => {
  test('V8 pretenures a site whose objects survive (the behaviour the tuning removes)', () => {
    expect(pretenuredAfterSurvivals(false)).toBe(100);
  });

  test('with the tuning, the same site keeps allocating young', () => {
    expect(pretenuredAfterSurvivals(true)).toBe(0);
  });
});
