import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScriptHost, type ScriptPorts } from '../../../node/script/index.js';
import type { ScriptRequest } from '../../../node/proxy/index.js';

function ports(): ScriptPorts & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    registrar: { save: () => undefined, lookup: () => [] },
    auth: { requireDigest: () => true },
    log: { info: () => undefined, warn: () => undefined, error: (o) => { errors.push(JSON.stringify(o)); } },
  };
}

/** A request double that records the decision a handler made. */
function fakeRequest(method = 'INVITE'): ScriptRequest & { replies: number[] } {
  const replies: number[] = [];
  return {
    replies, message: { method, uri: 'sip:bob@example.com', headers: undefined as never }, authUser: undefined,
    replyWith: (r) => { replies.push(r.status); },
    ruriIsLocal: false, method, ruri: 'sip:bob@example.com', callId: 'c1', fromTag: 'f', toTag: '', inDialog: false,
    source: { address: '127.0.0.1', port: 5060, transport: 'UDP' }, decided: false,
    header: () => undefined, headers: () => [],
    reply: (code) => { replies.push(code); }, relay: () => undefined, fork: () => undefined,
    recordRoute: () => undefined, looseRoute: () => false, fixNatedContact: () => false,
  };
}

function waitFor(host: ScriptHost, pred: () => boolean, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const iv = setInterval(() => {
      if (pred()) { clearInterval(iv); resolve(); } else if (Date.now() - t0 > ms) { clearInterval(iv); reject(new Error('timeout')); }
    }, 20);
    void host;
  });
}

const replyScript = (code: number): string =>
  `export default function (api) { api.proxy.onRequest((req) => { req.reply(${code}, 'x'); }); }\n`;

describe('ScriptHost', () => {
  let dir: string;
  const hosts: ScriptHost[] = [];
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'siphon-script-')); });
  afterEach(() => { for (const h of hosts.splice(0)) h.stop(); rmSync(dir, { recursive: true, force: true }); });

  function host(path: string, reload: 'none' | 'auto' | 'sighup', p = ports()): ScriptHost {
    const h = new ScriptHost({ path, reload, ports: p, debounceMs: 30 });
    hosts.push(h);
    return h;
  }

  test('loads a .js script and registers every handler kind', async () => {
    const path = join(dir, 'route.mjs');
    writeFileSync(path, `export default function (api) {
      api.proxy.onRequest(() => {}); api.proxy.onReply(() => {}); api.proxy.onFailure(() => {});
      api.proxy.onCancel(() => {}); api.registrar.onChange(() => {});
    }\n`);
    const h = host(path, 'none');
    await h.start();
    const s = h.handlers;
    expect([s.onRequest.length, s.onReply.length, s.onFailure.length, s.onCancel.length, s.onRegistrarChange.length])
      .toEqual([1, 1, 1, 1, 1]);
    expect(h.generation).toBe(1);
  });

  test('loads a .ts script (transpiled, type annotations and type imports erased)', async () => {
    const path = join(dir, 'route.ts');
    writeFileSync(path, `import type { ScriptApi } from '../whatever/index.js';
      interface Cfg { code: number }
      const cfg: Cfg = { code: 486 };
      export default function register(api: ScriptApi): void {
        api.proxy.onRequest((req) => { req.reply(cfg.code as number, 'Busy Here'); });
      }\n`);
    const h = host(path, 'none');
    await h.start();
    const req = fakeRequest();
    await h.handlers.onRequest[0](req);
    expect(req.replies).toEqual([486]);
  });

  test('a named `register` export is accepted', async () => {
    // A .js script follows its package.json "type", exactly as Node would load it.
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const path = join(dir, 'named.js');
    writeFileSync(path, `export function register(api) { api.proxy.onRequest((r) => r.reply(404)); }\n`);
    const h = host(path, 'none');
    await h.start();
    expect(h.handlers.onRequest).toHaveLength(1);
  });

  test('a script that throws at start-up rejects start()', async () => {
    const path = join(dir, 'bad.mjs');
    writeFileSync(path, `export default function () { throw new Error('boom'); }\n`);
    await expect(host(path, 'none').start()).rejects.toThrow('boom');
  });

  test('handlers cannot be added after the load completes', async () => {
    const path = join(dir, 'late.mjs');
    writeFileSync(path, `let saved; export default function (api) { saved = api; globalThis.__lateApi = api; }\n`);
    const h = host(path, 'none');
    await h.start();
    const api = (globalThis as unknown as { __lateApi: { proxy: { onRequest(f: () => void): void } } }).__lateApi;
    expect(() => api.proxy.onRequest(() => undefined)).toThrow(/while the script loads/);
  });

  test('hot reload on file change replaces the handlers atomically', async () => {
    const path = join(dir, 'hot.mjs');
    writeFileSync(path, replyScript(404));
    const h = host(path, 'auto');
    await h.start();
    const before = h.handlers;
    // Replace via rename, as editors do, to prove the folder watch survives an inode change.
    writeFileSync(join(dir, 'tmp.txt'), replyScript(480));
    renameSync(join(dir, 'tmp.txt'), path);
    await waitFor(h, () => h.generation >= 2);
    const req = fakeRequest();
    await h.handlers.onRequest[0](req);
    expect(req.replies).toEqual([480]);
    // The old set is untouched: an event already dispatched on it finishes on the old script.
    const old = fakeRequest();
    await before.onRequest[0](old);
    expect(old.replies).toEqual([404]);
  });

  test('a broken reload keeps the old handlers and logs', async () => {
    const path = join(dir, 'keep.ts');
    writeFileSync(path, replyScript(404));
    const p = ports();
    const h = host(path, 'none', p);
    await h.start();
    writeFileSync(path, `export default function (api: any) { api.proxy.onRequest(() => {}); throw new Error('half-registered'); }\n`);
    expect(await h.reload()).toBe(false);
    writeFileSync(path, `export default function (api) { this is not typescript ) }\n`);
    expect(await h.reload()).toBe(false);
    expect(h.generation).toBe(1);
    const req = fakeRequest();
    await h.handlers.onRequest[0](req);
    expect(req.replies).toEqual([404]);
    expect(h.handlers.onRequest).toHaveLength(1);
    expect(p.errors.join('\n')).toMatch(/half-registered/);
    expect(p.errors).toHaveLength(2);
  });

  test('SIGHUP reloads when script.reload is sighup', async () => {
    const path = join(dir, 'hup.mjs');
    writeFileSync(path, replyScript(404));
    const h = host(path, 'sighup');
    await h.start();
    writeFileSync(path, replyScript(503));
    process.emit('SIGHUP', 'SIGHUP');
    await waitFor(h, () => h.generation >= 2);
    const req = fakeRequest();
    await h.handlers.onRequest[0](req);
    expect(req.replies).toEqual([503]);
  });
});
