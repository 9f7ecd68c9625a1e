/**
 * Shared pieces of the black-box robustness suite: admin/metrics reads, bounded waits, raw sockets.
 * Everything talks to the REAL compiled server (dist/node/main.js) on 127.0.0.1.
 */
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { REPO_ROOT, type ServerProcess } from '../../helpers/server-process.js';
import { sipRequest, statusOf, udpClient } from '../../helpers/sip-client.js';

/** shared/ sits beside the repository (CI clones it the same way); SIPHON_SHARED_DIR overrides. */
export const SHARED_DIR = process.env.SIPHON_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');

export { eventually, sleep } from '../../helpers/eventually.js';

export async function metricsText(server: ServerProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
}

/** Sum of a metric's samples (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The node is alive and answering: an OPTIONS to its own address gets a 200 over UDP. */
export async function optionsAnswered(server: ServerProcess, timeoutMs = 2000): Promise<number> {
  const c = await udpClient();
  try {
    c.send(sipRequest('OPTIONS', { uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: c.port, rport: true }), server.sipPort);
    return statusOf(await c.next(timeoutMs));
  } finally {
    await c.close();
  }
}

/** A raw TCP socket that records whether/when the server closed it. */
export interface RawConn {
  readonly socket: Socket;
  received(): string;
  /** Resolves true once the peer closed (or false after `ms`). */
  closedWithin(ms: number): Promise<boolean>;
  destroy(): void;
}

export function rawConnect(port: number): Promise<RawConn> {
  return new Promise((resolveConn, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      let data = '';
      let closed = false;
      const closeWaiters: (() => void)[] = [];
      socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
      socket.on('close', () => {
        closed = true;
        for (const w of closeWaiters.splice(0)) w();
      });
      resolveConn({
        socket,
        received: () => data,
        closedWithin: (ms) =>
          new Promise((r) => {
            if (closed) return r(true);
            const t = setTimeout(() => r(false), ms);
            closeWaiters.push(() => {
              clearTimeout(t);
              r(true);
            });
          }),
        destroy: () => socket.destroy(),
      });
    });
    socket.on('error', (err) => reject(err));
  });
}
