// Runs the interaction scripts in testdata/: each block's printed trace must match exactly.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interaction, parseScript, renderScript, splitCommand } from './interaction.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe('raft interaction traces (testdata/*.txt)', () => {
  test.each(files)('%s', (file) => {
    const path = join(dir, file);
    const blocks = parseScript(readFileSync(path, 'utf8'));
    const it = new Interaction();
    const results = blocks.map((b) => {
      const [cmd, args, pos] = splitCommand(b.command);
      return { ...b, output: it.run(cmd, args, pos) };
    });
    if (process.env.REWRITE === '1') {
      writeFileSync(path, renderScript(results));
      return;
    }
    for (const r of results) {
      expect(`${file}:${r.line} ${r.command}\n${r.output}`).toBe(`${file}:${r.line} ${r.command}\n${r.expected}`);
    }
  });
});
