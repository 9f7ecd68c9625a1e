// Test helper: one raft-node OS process (dist/ops/raft-node.js), killable with SIGKILL and restartable
// on the same data directory and ports.
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../helpers/server-process.js';
import { spawnTracked } from '../../helpers/tracked-spawn.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogClient } from '../../../cluster/log/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const RAFT_NODE_JS = path.join(root, 'dist/ops/raft-node.js');

export function compiledNodeAvailable(): boolean {
  return existsSync(RAFT_NODE_JS);
}

/** `n` distinct ports, free when checked, below the ephemeral range (see freePort). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}

export class NodeProcess {
  child: ChildProcess | undefined;
  stderr = '';

  constructor(
    readonly id: number,
    readonly peerPort: number,
    readonly clientPort: number,
    readonly dataDir: string,
    readonly peers: string,
    readonly extraArgs: string[] = [],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    const child = spawnTracked(
      process.execPath,
      [RAFT_NODE_JS, '--id', String(this.id), '--listen', `127.0.0.1:${this.peerPort}`, '--data', this.dataDir,
        '--peers', this.peers, '--client', `127.0.0.1:${this.clientPort}`, ...this.extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`node ${this.id} not ready: ${this.stderr}`)), timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"ready":true')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`node ${this.id} exited with ${code}: ${this.stderr}`));
      });
    });
  }

  /** kill -9 by PID: no chance to flush or close anything. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid!, 'SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid!, 'SIGTERM');
    const t = setTimeout(() => this.running && process.kill(c.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** One committed client entry as a member's client port reads it back. */
export interface LogEntryView {
  index: number;
  term: number;
  value: string;
}

/** The whole committed log of the member behind `clientPort`, client entries only (no-ops and membership skipped). */
export async function readCommittedLog(clientPort: number): Promise<LogEntryView[]> {
  const c = await LogClient.connect('127.0.0.1', clientPort);
  const out: LogEntryView[] = [];
  try {
    let from = 1;
    for (;;) {
      const r = await c.read(from, 5000);
      if (r.entries.length === 0) {
        if (from > r.index) break;
        from = r.index + 1; // only no-ops / membership entries in that range
        continue;
      }
      for (const e of r.entries) out.push({ index: e.index, term: e.term, value: Buffer.from(e.data).toString() });
      from = r.entries[r.entries.length - 1].index + 1;
    }
  } finally {
    c.close();
  }
  return out;
}
