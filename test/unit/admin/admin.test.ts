import { configSchema } from '../../../config/index.js';
import { AdminRouter } from '../../../node/admin/index.js';
import { startSipNode, type SipNode } from '../../../node/core/index.js';
import { createLogger } from '../../../node/log/index.js';
import { sipRequest, udpClient } from '../../helpers/sip-client.js';

describe('AdminRouter', () => {
  const ok = (tag: string) => () => ({ status: 200, body: tag });
  const r = new AdminRouter().get('/admin/registrations', ok('list')).get('/admin/registrations/:aor', ok('one')).delete('/admin/registrations/:aor', ok('del'));

  test('matches literal and parameter segments, decoding parameters', () => {
    const m = r.match('GET', '/admin/registrations/sip%3Aalice%40example.net');
    expect(m !== null && m !== 'method' && m.params).toEqual({ aor: 'sip:alice@example.net' });
    const d = r.match('DELETE', '/admin/registrations/x');
    expect(d !== null && d !== 'method').toBe(true);
    expect(r.match('GET', '/admin/registrations/')).not.toBeNull();
  });

  test('unknown path → null (404), known path with another method → "method" (405)', () => {
    expect(r.match('GET', '/admin/nothing')).toBeNull();
    expect(r.match('POST', '/admin/registrations')).toBe('method');
    expect(r.match('GET', '/admin/registrations/%E0%A4%A')).toBeNull(); // malformed escape
  });
});

describe('admin HTTP API on a running node', () => {
  let node: SipNode;
  let base: string;

  beforeAll(async () => {
    const config = configSchema.decode(
      { listen: { udp: ['127.0.0.1:0'], tcp: ['127.0.0.1:0'] }, admin: { listen: '127.0.0.1:0' }, log: { level: 'silent' } },
      '',
    );
    node = await startSipNode(config, createLogger(config.log).logger);
    base = `http://127.0.0.1:${node.adminPort}`;
  });
  afterAll(() => node.stop());

  test('GET /admin/health reports live and ready with per-listener checks', async () => {
    const res = await fetch(`${base}/admin/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', live: true, ready: true, checks: { 'sip.udp': true, 'sip.tcp': true } });
  });

  test('GET /admin/stats and /metrics reflect SIP traffic', async () => {
    const c = await udpClient();
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), node.udp[0].listener.port);
    await c.next();
    c.send(sipRequest('INFO', { viaPort: c.port }), node.udp[0].listener.port);
    await c.next();
    await c.close();
    const stats = (await (await fetch(`${base}/admin/stats`)).json()) as { sip: Record<string, number>; listeners: unknown[] };
    expect(stats.sip.requests).toBe(2);
    expect(stats.sip.responses_sent).toBe(2);
    expect(stats.listeners).toHaveLength(2);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('siphon_requests_total{method="OPTIONS"} 1');
    expect(metrics).toContain('siphon_requests_total{method="INFO"} 1');
    expect(metrics).toContain('siphon_responses_total{code="200"} 1');
    expect(metrics).toContain('siphon_responses_total{code="501"} 1');
    expect(metrics).toMatch(/siphon_request_duration_seconds_count 2/);
    expect(metrics).toMatch(/siphon_uptime_seconds \d/);
    expect(metrics).toContain('siphon_transactions_active');
    expect(metrics).toContain('siphon_connections_active{transport="tcp"} 0');
  });

  test('routes mounted by other modules are served; unknown paths 404, wrong methods 405', async () => {
    node.router.get('/admin/echo/:word', (req) => ({ status: 200, body: { word: req.params.word, q: req.query.get('q') } }));
    node.router.get('/admin/boom', () => {
      throw new Error('handler bug');
    });
    expect(await (await fetch(`${base}/admin/echo/hi?q=1`)).json()).toEqual({ word: 'hi', q: '1' });
    expect((await fetch(`${base}/admin/nope`)).status).toBe(404);
    expect((await fetch(`${base}/admin/health`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${base}/admin/boom`)).status).toBe(500);
    expect((await fetch(`${base}/admin/health`)).status).toBe(200);
  });
});

describe('metrics.prometheus placement', () => {
  const base = { listen: { udp: ['127.0.0.1:0'], tcp: [] }, admin: { listen: '127.0.0.1:0' }, log: { level: 'silent' } };

  test('{listen} serves /metrics on its own listener and not on the admin one', async () => {
    const config = configSchema.decode({ ...base, metrics: { prometheus: { listen: '127.0.0.1:0' } } }, '');
    const node = await startSipNode(config, createLogger(config.log).logger);
    try {
      expect(node.metricsPort).not.toBeNull();
      const res = await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('siphon_uptime_seconds');
      expect((await fetch(`http://127.0.0.1:${node.adminPort}/metrics`)).status).toBe(404);
    } finally {
      await node.stop();
    }
  });

  test('false disables /metrics', async () => {
    const config = configSchema.decode({ ...base, metrics: { prometheus: false } }, '');
    const node = await startSipNode(config, createLogger(config.log).logger);
    try {
      expect(node.metricsPort).toBeNull();
      expect((await fetch(`http://127.0.0.1:${node.adminPort}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${node.adminPort}/admin/health`)).status).toBe(200);
    } finally {
      await node.stop();
    }
  });
});
