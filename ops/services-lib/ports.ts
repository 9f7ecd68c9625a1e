import { createServer } from 'node:net';

/** Asks the kernel for a free TCP port on 127.0.0.1 (bind to 0, read it back, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

/** `n` distinct free ports; distinct even if the kernel would hand the same one out twice in a row. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}
