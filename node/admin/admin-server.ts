/**
 * The admin HTTP listener (node:http): serves an AdminRouter. Handler failures become 500 JSON,
 * never a crash; bodies are bounded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/index.js';
import type { AdminResponse, AdminRouter } from './router.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface AdminServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, r: AdminResponse): void {
  const isText = typeof r.body === 'string';
  const payload = isText ? (r.body as string) : JSON.stringify(r.body);
  res.writeHead(r.status, {
    'content-type': r.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json'),
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function handleAdmin(router: AdminRouter, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const method = req.method ?? 'GET';
    const m = router.match(method, url.pathname);
    if (m === null) return send(res, { status: 404, body: { error: 'not found', path: url.pathname } });
    if (m === 'method') return send(res, { status: 405, body: { error: 'method not allowed' } });
    const body = await readBody(req);
    if (body === null) return send(res, { status: 413, body: { error: 'body too large' } });
    send(res, await m.handler({ method, path: url.pathname, params: m.params, query: url.searchParams, body }));
  } catch (err) {
    log.error({ err, url: req.url }, 'admin handler failed');
    if (!res.headersSent) send(res, { status: 500, body: { error: 'internal error' } });
    else res.destroy();
  }
}

export async function startAdminServer(router: AdminRouter, host: string, port: number, log: Logger): Promise<AdminServer> {
  const server = createServer((req, res) => {
    void handleAdmin(router, req, res, log);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
