// GET /admin/cluster for the admin HTTP server (owned by node/admin): mount this handler there.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplicatedLog } from './replicated-log.js';

export function clusterStatusHandler(log: ReplicatedLog): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const body = log.statusJson();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
