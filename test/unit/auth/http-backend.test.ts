import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { computeHa1, CredentialBackendError, HttpCredentialBackend } from '../../../node/auth/index.js';

const REALM = 'example.com';
const aliceMd5 = computeHa1('MD5', 'alice', REALM, 'wonderland');
const aliceSha = computeHa1('SHA-256', 'alice', REALM, 'wonderland');

let server: Server;
let base: string;
const seen: string[] = [];
/** Per-test hook so individual tests can delay or break the endpoint. */
let delayMs = 0;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url.search);
    const user = url.searchParams.get('username');
    const alg = url.searchParams.get('algorithm');
    const reply = (): void => {
      if (url.pathname === '/broken') {
        res.writeHead(500).end('boom');
      } else if (url.pathname === '/garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ha1": 42}');
      } else if (user === 'alice' && url.searchParams.get('realm') === REALM) {
        if (url.pathname === '/plain') res.writeHead(200, { 'content-type': 'text/plain' }).end(`${aliceMd5}\n`);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ha1: alg === 'SHA-256' ? aliceSha : aliceMd5 }));
      } else {
        res.writeHead(404).end();
      }
    };
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
  delayMs = 0;
});

test('fetches HA1 as JSON with username, realm and algorithm in the query', async () => {
  const b = new HttpCredentialBackend({ url: `${base}/ha1`, cacheTtlSecs: 0, timeoutMs: 2000 });
  expect(await b.lookupHa1('alice', REALM, 'MD5')).toBe(aliceMd5);
  expect(await b.lookupHa1('alice', REALM, 'SHA-256')).toBe(aliceSha);
  expect(seen[0]).toBe('?username=alice&realm=example.com&algorithm=MD5');
});

test('plain-text HA1 body is accepted', async () => {
  const b = new HttpCredentialBackend({ url: `${base}/plain`, cacheTtlSecs: 0, timeoutMs: 2000 });
  expect(await b.lookupHa1('alice', REALM, 'MD5')).toBe(aliceMd5);
});

test('404 → unknown user', async () => {
  const b = new HttpCredentialBackend({ url: `${base}/ha1`, cacheTtlSecs: 0, timeoutMs: 2000 });
  expect(await b.lookupHa1('nobody', REALM, 'MD5')).toBeUndefined();
});

test('cache hit avoids the second fetch; TTL expiry fetches again', async () => {
  let now = 1_000_000;
  const b = new HttpCredentialBackend({ url: `${base}/ha1`, cacheTtlSecs: 30, timeoutMs: 2000, now: () => now });
  expect(await b.lookupHa1('alice', REALM, 'MD5')).toBe(aliceMd5);
  now += 29_000;
  expect(await b.lookupHa1('alice', REALM, 'MD5')).toBe(aliceMd5);
  expect(seen).toHaveLength(1);
  expect(b.fetchCount).toBe(1);
  now += 2_000;
  expect(await b.lookupHa1('alice', REALM, 'MD5')).toBe(aliceMd5);
  expect(seen).toHaveLength(2);
});

test('cache_ttl_secs 0 disables caching', async () => {
  const b = new HttpCredentialBackend({ url: `${base}/ha1`, cacheTtlSecs: 0, timeoutMs: 2000 });
  await b.lookupHa1('alice', REALM, 'MD5');
  await b.lookupHa1('alice', REALM, 'MD5');
  expect(seen).toHaveLength(2);
});

test('concurrent lookups of the same user share one request', async () => {
  delayMs = 50;
  const b = new HttpCredentialBackend({ url: `${base}/ha1`, cacheTtlSecs: 0, timeoutMs: 2000 });
  const results = await Promise.all(Array.from({ length: 5 }, () => b.lookupHa1('alice', REALM, 'MD5')));
  expect(results).toEqual(Array(5).fill(aliceMd5));
  expect(seen).toHaveLength(1);
});

test('timeout → CredentialBackendError', async () => {
  delayMs = 500;
  const b = new HttpCredentialBackend({ url: `${base}/ha1`, cacheTtlSecs: 0, timeoutMs: 50 });
  await expect(b.lookupHa1('alice', REALM, 'MD5')).rejects.toBeInstanceOf(CredentialBackendError);
});

test('HTTP 500, unusable body and refused connection → CredentialBackendError, not cached', async () => {
  const broken = new HttpCredentialBackend({ url: `${base}/broken`, cacheTtlSecs: 60, timeoutMs: 2000 });
  await expect(broken.lookupHa1('alice', REALM, 'MD5')).rejects.toBeInstanceOf(CredentialBackendError);
  await expect(broken.lookupHa1('alice', REALM, 'MD5')).rejects.toBeInstanceOf(CredentialBackendError);
  expect(seen).toHaveLength(2);
  const garbage = new HttpCredentialBackend({ url: `${base}/garbage`, cacheTtlSecs: 60, timeoutMs: 2000 });
  await expect(garbage.lookupHa1('alice', REALM, 'MD5')).rejects.toBeInstanceOf(CredentialBackendError);
  const refused = new HttpCredentialBackend({ url: 'http://127.0.0.1:1/ha1', cacheTtlSecs: 60, timeoutMs: 500 });
  await expect(refused.lookupHa1('alice', REALM, 'MD5')).rejects.toBeInstanceOf(CredentialBackendError);
});

test('auth.backend: http drives the authenticator end to end (SHA-256 HA1 from the endpoint)', async () => {
  const { createAuthenticator, parseAuthParams, computeResponse } = await import('../../../node/auth/index.js');
  const auth = createAuthenticator({
    backend: 'http',
    realm: REALM,
    algorithms: ['SHA-256'],
    nonce_secret: 's',
    nonce_ttl_secs: 60,
    users: [],
    http: { url: `${base}/ha1`, cache_ttl_secs: 60, timeout_ms: 2000 },
  });
  const now = Date.now();
  const c = auth.challenge('www', now);
  const nonce = parseAuthParams(c.headers[0][1]).params.get('nonce') ?? '';
  const response = computeResponse({ algorithm: 'SHA-256', ha1: aliceSha, nonce, method: 'REGISTER', uri: 'sip:example.com', qop: 'auth', nc: '00000001', cnonce: 'q' });
  const cred = `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="q", response="${response}"`;
  expect(await auth.verify('www', { method: 'REGISTER', credentials: [cred] }, now)).toMatchObject({ kind: 'ok', username: 'alice' });
  expect(seen).toEqual(['?username=alice&realm=example.com&algorithm=SHA-256']);
});
