/**
 * What a campaign found, deduplicated by target, kind and the error's first lines (a thousand
 * inputs tripping one bug are one finding), each with the smallest input that showed it, saved
 * base64 under the output directory so it can be replayed and turned into a regression case.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Finding {
  readonly target: string;
  readonly kind: string;
  readonly signature: string;
  count: number;
  input: Buffer;
  readonly message: string;
}

export class Findings {
  private readonly byKey = new Map<string, Finding>();

  add(target: string, kind: string, err: unknown, input: Buffer): void {
    const e = err instanceof Error ? err : new Error(String(err));
    // The message without numbers plus the top stack frame: one bug, one signature.
    const frame = (e.stack ?? '').split('\n').slice(1, 2).join('').trim().replace(/:\d+:\d+\)?$/, '');
    const signature = `${e.name}: ${e.message.replace(/\d+(\.\d+)?/g, 'N').slice(0, 160)} @ ${frame}`;
    const key = `${target}|${kind}|${signature}`;
    const f = this.byKey.get(key);
    if (f === undefined) {
      this.byKey.set(key, { target, kind, signature, count: 1, input, message: (e.stack ?? e.message).slice(0, 2000) });
      process.stderr.write(`FINDING ${target}/${kind}: ${signature}\n`);
    } else {
      f.count++;
      if (input.length < f.input.length) f.input = input;
    }
  }

  list(): Finding[] {
    return [...this.byKey.values()];
  }

  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    let i = 0;
    for (const f of this.byKey.values()) {
      writeFileSync(join(dir, `finding-${++i}-${f.target}-${f.kind}.json`), JSON.stringify({
        target: f.target, kind: f.kind, signature: f.signature, count: f.count, message: f.message, inputBase64: f.input.toString('base64'),
      }, null, 1));
    }
  }
}
