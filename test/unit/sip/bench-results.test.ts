// The shared bench writer merges keys into bench/results/NAME.json instead of overwriting other sections.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeResultsAt, resultsPath } from '../../../bench/lib/index.js';

describe('bench results writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sip-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps other sections and replaces only the given top-level keys', () => {
    const file = join(dir, 'parse.json');
    writeFileSync(file, JSON.stringify({ garbage: { rss: 1 }, invite: { ops_per_s: 1 } }));
    mergeResultsAt(file, { invite: { ops_per_s: 2 }, node: 'v20' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ garbage: { rss: 1 }, invite: { ops_per_s: 2 }, node: 'v20' });
  });

  it('creates the file (and directory) when missing, and replaces a corrupt one', () => {
    const file = join(dir, 'sub', 'x.json');
    mergeResultsAt(file, { a: 1 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ a: 1 });
    writeFileSync(file, '{not json');
    mergeResultsAt(file, { b: 2 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ b: 2 });
  });

  it('resolves results under the project root', () => {
    expect(resultsPath('parse')).toMatch(/bench\/results\/parse\.json$/);
  });
});
