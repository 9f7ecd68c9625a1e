/** Summarises a V8 `.cpuprofile` (node --cpu-prof): self time per function, highest first. */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly function: string;
  readonly where: string;
  readonly self_ms: number;
  readonly self_pct: number;
}

export function summariseProfile(path: string, top = 10, root?: string): { total_ms: number; top: SelfTime[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined || dt <= 0) continue;
    totalUs += dt;
    const cf = node.callFrame;
    let url = cf.url.replace(/^file:\/\//, '');
    if (root !== undefined && url.startsWith(root)) url = url.slice(root.length + 1);
    const fn = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const where = url === '' ? '' : `${url}:${cf.lineNumber + 1}`;
    const key = `${fn}\u0000${where}`;
    const e = selfUs.get(key) ?? { fn, where, us: 0 };
    e.us += dt;
    selfUs.set(key, e);
  }
  const rows = [...selfUs.values()].sort((a, b) => b.us - a.us).slice(0, top);
  return {
    total_ms: Math.round(totalUs / 1000),
    top: rows.map((r) => ({
      function: r.fn,
      where: r.where,
      self_ms: Math.round(r.us / 100) / 10,
      self_pct: totalUs > 0 ? Math.round((1000 * r.us) / totalUs) / 10 : 0,
    })),
  };
}
