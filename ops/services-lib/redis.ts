import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { isAlive, run, spawnDetached, stopPid, waitUntil } from './processes.js';

export interface RedisServer {
  readonly dir: string;
  readonly port: number;
  readonly pid: number;
  readonly version: string;
}

const REDIS_BIN = process.env.SIPHON_REDIS_BIN ?? 'redis-server';

export async function startRedis(dir: string, port?: number, timeoutMs = 30_000): Promise<RedisServer> {
  const p = port ?? (await freePort());
  mkdirSync(dir, { recursive: true });
  // Projection stores are caches of the log (DESIGN.md §Principles 2): no persistence needed.
  const args = ['--bind', '127.0.0.1', '--port', String(p), '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
  const pid = spawnDetached({ cmd: REDIS_BIN, args, logFile: join(dir, 'redis.log'), cwd: dir });
  try {
    await waitUntil('redis', () => redisProbe(p), timeoutMs, () => isAlive(pid));
  } catch (err) {
    await stopPid(pid);
    throw err;
  }
  const v = /v=(\S+)/.exec(await run(REDIS_BIN, ['--version']));
  return { dir, port: p, pid, version: v ? v[1] : 'unknown' };
}

/** RESP inline PING over a raw socket: no client library, no reconnect logic in the way. */
export function redisProbe(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolveProbe(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

export async function stopRedis(pid: number): Promise<void> {
  await stopPid(pid, { graceMs: 10_000 });
}
