import { RedisStore } from '../../../projections/stores/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, stopRedis } from '../../../ops/services-lib/index.js';
import { requireServices } from '../../setup/services.js';
import { uniqueName } from './kafka-helpers.js';

let store: RedisStore;
let url: string;

async function eventually(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  ({ redis: { url } } = await requireServices(['redis']));
  store = new RedisStore({ url, keyPrefix: `${uniqueName('t')}:` });
  await store.connect();
}, 60_000);

afterAll(async () => {
  await store?.close();
});

it('connects and reports health', async () => {
  const h = await store.health();
  expect(h.ok).toBe(true);
  expect(h.latencyMs).toBeGreaterThanOrEqual(0);
});

it('writes a batch in one pipeline and reads it back, with and without TTL', async () => {
  const entries = Array.from({ length: 1000 }, (_, i) => [`k${i}`, `v${i}`] as const);
  await store.setMany(entries);
  const got = await store.getMany(entries.map(([k]) => k));
  expect(got).toEqual(entries.map(([, v]) => v));
  await store.setMany([['ttl', 'x']], 60);
  expect(await store.client.ttl('ttl')).toBeGreaterThan(0);
  expect(await store.deleteMany(['k0', 'k1', 'missing'])).toBe(2);
  expect(await store.getMany(['k0', 'k2'])).toEqual([null, 'v2']);
  await expect(store.setMany([['a', 'b']], 0)).rejects.toThrow(/ttlSeconds/);
});

it('a lone store against a dead port reports unhealthy instead of throwing', async () => {
  const dead = new RedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 200 });
  await dead.connect().catch(() => undefined);
  const h = await dead.health();
  expect(h.ok).toBe(false);
  await dead.close();
});

// A private server, so stopping it disturbs no other test file (and works when the shared one is external).
it('reconnects by itself after the server restarts, and keeps writing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'siphon-redis-'));
  let server = await startRedis(dir);
  const own = new RedisStore({ url: `redis://127.0.0.1:${server.port}` });
  try {
    await own.connect();
    await own.setMany([['before', '1']]);
    const before = own.reconnects;
    await stopRedis(server.pid);
    expect((await own.health()).ok).toBe(false);
    // Issued while the server is down: waits in the offline queue, runs after the reconnect.
    const pending = own.setMany([['during', '2']]);
    server = await startRedis(dir, server.port);
    await pending;
    await eventually(async () => (await own.health()).ok, 15_000);
    expect(own.reconnects).toBeGreaterThan(before);
    // The restarted server is empty (no persistence: projections are rebuilt from the log).
    await own.setMany([['after', '3']]);
    expect(await own.getMany(['before', 'during', 'after'])).toEqual([null, '2', '3']);
  } finally {
    await own.close();
    await stopRedis(server.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
