/**
 * The start-up warm-up (node/app/warm-up.ts): a throwaway node on loopback, driven by synthetic
 * REGISTERs and calls over real UDP sockets. What it must do: complete calls and registrations
 * through the node's own proxy and registrar, answer digest challenges when the operator's node
 * challenges, and never run the operator's script or ask the operator's HTTP credential backend.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configSchema, type SiphonConfig } from '../../../config/index.js';
import { digestAnswer, warmUp, warmUpConfig } from '../../../node/app/index.js';

const silent = pino({ level: process.env.WARM_DEBUG ? 'warn' : 'silent' });

function configOf(raw: Record<string, unknown>): SiphonConfig {
  return configSchema.decode({ log: { level: 'silent' }, warmup: { duration_ms: 300 }, ...raw }, '');
}

describe('digestAnswer', () => {
  it('computes the RFC 2617 §3.5 example response (MD5, qop=auth)', () => {
    const challenge = 'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const answer = digestAnswer(challenge, 'GET', '/dir/index.html', { username: 'Mufasa', password: 'Circle Of Life' }, '0a4f113b');
    expect(answer).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(answer).toContain('qop=auth, nc=00000001, cnonce="0a4f113b"');
    expect(answer).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  it('hashes with SHA-256 when the challenge names it (RFC 7616 §3.9.1 example)', () => {
    const challenge = 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
    const answer = digestAnswer(challenge, 'GET', '/dir/index.html', { username: 'Mufasa', password: 'Circle of Life' }, 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ');
    expect(answer).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(answer).toContain('algorithm=SHA-256');
  });
});

describe('warmUpConfig', () => {
  it('keeps the operator settings that select code paths and replaces everything with an outside effect', () => {
    const config = configOf({
      listen: { udp: ['0.0.0.0:5060'], tcp: ['0.0.0.0:5060'] },
      transaction: { t1_ms: 250 },
      registrar: { max_contacts: 3, service_route: ['<sip:scscf.example.com;lr>'] },
      script: { path: '/etc/siphon/route.ts', reload: 'sighup' },
      auth: { backend: 'http', realm: 'example.com', algorithms: ['SHA-256', 'MD5'], http: { url: 'http://hss.example/ha1' } },
      admin: { listen: '127.0.0.1:9999' },
      overload: { enabled: true },
    });
    const { config: warm, credentials } = warmUpConfig(config);
    expect(warm.listen).toEqual({ udp: [{ host: '127.0.0.1', port: 0, advertise: null }], tcp: [], tls: [], ws: [], wss: [], dscp: 0 });
    expect(warm.admin.enabled).toBe(false);
    expect(warm.metrics.prometheus).toBe(false);
    expect(warm.script).toEqual({ path: null, reload: 'none' });
    expect(warm.overload.enabled).toBe(false);
    expect(warm.warmup.enabled).toBe(false);
    expect(warm.log.level).toBe('silent');
    // Challenged like the operator's node, by a user of its own: the HTTP backend is never asked.
    expect(warm.auth.backend).toBe('static');
    expect(warm.auth.realm).toBe('example.com');
    expect(warm.auth.algorithms).toEqual(['SHA-256', 'MD5']);
    expect(warm.auth.users).toEqual([{ username: credentials!.username, password: credentials!.password, ha1: null, realm: null }]);
    expect(warm.transaction.t1_ms).toBe(250);
    expect(warm.registrar.max_contacts).toBe(3);
    expect(warm.registrar.service_route).toEqual([]);
    expect(warm.registrar.enforce_auth_aor_match).toBe(false);
  });

  it('does not challenge when the operator node does not', () => {
    const { config: warm, credentials } = warmUpConfig(configOf({}));
    expect(credentials).toBeUndefined();
    expect(warm.auth.users).toEqual([]);
    expect(warm.auth.backend).toBe('static');
  });
});

describe('warmUp over real loopback sockets', () => {
  it('completes calls and registrations through the node, with nothing abandoned', async () => {
    const report = await warmUp(configOf({}), silent);
    expect(report).not.toBeNull();
    expect(report!.calls).toBeGreaterThan(0);
    // Every register flow is three REGISTERs: new binding, refresh, removal.
    expect(report!.registrations).toBeGreaterThanOrEqual(3);
    expect(report!.challenges).toBe(0);
    expect(report!.abandoned).toBe(0);
    expect(report!.ms).toBeGreaterThanOrEqual(300);
  }, 20_000);

  it('registers within the operator registrar limits (min_expires above the default refresh would mean 423s)', async () => {
    const report = await warmUp(configOf({ registrar: { min_expires: 600, max_expires: 7200 } }), silent);
    expect(report).not.toBeNull();
    expect(report!.registrations).toBeGreaterThanOrEqual(3);
    expect(report!.calls).toBeGreaterThan(0);
    expect(report!.abandoned).toBe(0);
  }, 20_000);

  it('answers 401/407 digest challenges (SHA-256 first) without running the operator script or asking its HTTP backend', async () => {
    let backendAsked = 0;
    const backend = createServer((_req, res) => {
      backendAsked++;
      res.statusCode = 500;
      res.end();
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // A script that would make every request fail, were it loaded.
    const dir = mkdtempSync(join(tmpdir(), 'siphon-warm-'));
    const script = join(dir, 'route.mjs');
    writeFileSync(script, 'export default function register() { throw new Error("the operator script must not run in the warm-up"); }\n');
    try {
      const report = await warmUp(configOf({
        script: { path: script },
        auth: { backend: 'http', realm: 'warm.example', algorithms: ['SHA-256', 'MD5'], http: { url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/ha1` } },
        // The warm-up user registers AoRs not its own: this would refuse them all, were it kept.
        registrar: { enforce_auth_aor_match: true },
      }), silent);
      expect(report).not.toBeNull();
      expect(report!.challenges).toBeGreaterThan(0);
      expect(report!.calls).toBeGreaterThan(0);
      expect(report!.registrations).toBeGreaterThan(0);
      expect(report!.abandoned).toBe(0);
      expect(backendAsked).toBe(0);
    } finally {
      backend.close();
    }
  }, 20_000);
});
