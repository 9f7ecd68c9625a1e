// api.proxy.sendRequest: a script-originated request with a pre-loaded Route goes to the first
// Route URI with the R-URI unchanged, through the real proxy and node/sip messages.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatefulProxy, type NextHop, type ProxyRequestMessage, type ProxyTransactionPort, sipProxyFactory } from '../../../node/proxy/index.js';
import { ScriptHost, proxyPort } from '../../../node/script/index.js';

test('a script NOTIFY with a pre-loaded Route is sent to the Route, R-URI kept, our Via on top', async () => {
  const sent: Array<{ request: ProxyRequestMessage; dest: NextHop }> = [];
  const port: ProxyTransactionPort<string, number> = {
    sendRequest: (request, dest) => { sent.push({ request, dest }); return sent.length; },
    respond: () => undefined, sendStateless: () => undefined, cancelTarget: () => undefined,
  };
  const proxy = new StatefulProxy<string, number>({
    transactions: port, factory: sipProxyFactory, hooks: { onRequest: () => undefined },
    isOwnAddress: () => false, advertised: { host: '10.0.0.1', port: 5060 }, recordRoute: true, inviteTimeoutMs: 180_000,
  });
  const dir = mkdtempSync(join(tmpdir(), 'siphon-send-'));
  try {
    const path = join(dir, 'notify.ts');
    writeFileSync(path, `import type { ScriptApi } from 'siphon';
      export default function (api: ScriptApi): void {
        api.registrar.onChange((c) => {
          api.proxy.sendRequest({ method: 'NOTIFY', uri: 'sip:watcher@192.0.2.50', headers: [
            ['Route', '<sip:scscf.example.net:6060;lr>'], ['From', '<sip:' + c.aor.slice(4) + '>;tag=n1'],
            ['To', '<sip:watcher@192.0.2.50>;tag=w1'], ['Call-ID', 'sub-7'], ['CSeq', '2 NOTIFY'],
            ['Event', 'reg'], ['Subscription-State', 'active'],
          ] });
        });
      }\n`);
    const host = new ScriptHost({
      path, reload: 'none',
      ports: {
        registrar: { save: () => undefined, lookup: () => [] }, auth: { requireDigest: () => true },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
        proxy: proxyPort(proxy, () => 0),
      },
    });
    await host.start();
    await host.handlers.onRegistrarChange[0]({ kind: 'insert', aor: 'sip:bob@example.com', contact: 'sip:bob@192.0.2.9' });
    expect(sent).toHaveLength(1);
    expect(sent[0].dest).toEqual({ host: 'scscf.example.net', port: 6060, transport: 'UDP', source: 'route' });
    expect(sent[0].request.uri).toBe('sip:watcher@192.0.2.50');
    expect(sent[0].request.headers.get('Via')).toMatch(/^SIP\/2\.0\/UDP 10\.0\.0\.1:5060;branch=z9hG4bK/);
    expect(sent[0].request.headers.get('Max-Forwards')).toBe('70');
    host.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
