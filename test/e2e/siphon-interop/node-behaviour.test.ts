/**
 * SIPhon's node-level acceptance cases, translated to this node with its default script:
 * - "nohandler": OPTIONS to the node is answered 200 with Allow and Contact, and a retransmission
 *   is answered again from the server transaction; an unknown method gets 501.
 * - "wedge": a TCP peer that floods requests and never reads its answers must not stop the node
 *   from answering a fresh connection.
 * - "shutdown": SIGTERM with a call up through the proxy: the node exits 0 promptly and, being no
 *   party to the call, sends neither side a BYE.
 */
import { connect } from 'node:net';
import { eventually } from '../../helpers/eventually.js';
import { portsBound } from '../../helpers/port-bound.js';
import { freePort, serverPerSuite, startServer } from '../../helpers/server-process.js';
import { headerOf, statusOf, tcpClient, udpClient } from '../../helpers/sip-client.js';
import { PASSED, metricValue, metrics, sipp, verdict } from './sipp-runner.js';

function probe(method: string, port: number, viaPort: number, branch: string, transport = 'UDP'): string {
  return (
    `${method} sip:127.0.0.1:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/${transport} 127.0.0.1:${viaPort};branch=${branch};rport\r\n` +
    `From: <sip:probe@peer.invalid>;tag=probe\r\nTo: <sip:127.0.0.1:${port}>\r\n` +
    `Call-ID: nohandler-${branch}\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`
  );
}

describe('SIPhon node-level scenarios', () => {
  const server = serverPerSuite();

  test('nohandler: OPTIONS gets 200 with Allow and Contact, again for its retransmission; an unknown method 501', async () => {
    const c = await udpClient();
    try {
      const branch = `z9hG4bK-nh-${Date.now()}`;
      c.send(probe('OPTIONS', server.sipPort, c.port, branch), server.sipPort);
      const first = await c.next(2000);
      expect(statusOf(first)).toBe(200);
      expect(headerOf(first, 'Allow')).toMatch(/\bINVITE\b.*\bMESSAGE\b/);
      expect(headerOf(first, 'Contact')).toBe(`<sip:127.0.0.1:${server.sipPort}>`);
      // §17.2.2: the retransmission is answered from the server transaction, byte for byte.
      c.send(probe('OPTIONS', server.sipPort, c.port, branch), server.sipPort);
      expect(await c.next(2000)).toBe(first);
      c.send(probe('FROB', server.sipPort, c.port, `${branch}-x`), server.sipPort);
      expect(statusOf(await c.next(2000))).toBe(501);
    } finally {
      await c.close();
    }
  }, 15_000);

  test('wedge: a TCP peer that never reads its answers does not stop a fresh connection being answered', async () => {
    const stuck = connect({ host: '127.0.0.1', port: server.sipPort });
    await new Promise<void>((resolve, reject) => {
      stuck.once('connect', () => resolve());
      stuck.once('error', reject);
    });
    stuck.on('error', () => undefined);
    stuck.pause(); // never reads: the answers pile up in the kernel and then in the node's buffer
    try {
      const flood: string[] = [];
      for (let i = 0; i < 6000; i++) flood.push(probe('OPTIONS', server.sipPort, 6000, `z9hG4bK-stuck-${i}`, 'TCP'));
      stuck.write(flood.join(''));
      await new Promise((r) => setTimeout(r, 1500));
      const fresh = await tcpClient(server.sipPort);
      try {
        const started = Date.now();
        fresh.send(probe('OPTIONS', server.sipPort, fresh.localPort, `z9hG4bK-fresh-${Date.now()}`, 'TCP'));
        expect(statusOf(await fresh.next(3000))).toBe(200);
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        fresh.close();
      }
    } finally {
      stuck.destroy();
    }
  }, 20_000);
});

describe('SIPhon shutdown scenario (proxy flavour)', () => {
  test('SIGTERM with a call up: exit 0 within 5 s, and neither party gets anything from the node', async () => {
    const server = await startServer();
    let stopped = false;
    try {
      const uasPort = await freePort();
      const reg = await sipp(server.dir, { scenario: 'register-contact.xml', target: server.sipPort, service: 'hal', keys: { contact: `sip:hal@127.0.0.1:${uasPort}` } });
      expect(verdict(reg)).toEqual(PASSED);
      const callee = sipp(server.dir, { scenario: 'held-call-uas.xml', port: uasPort });
      await portsBound('udp', [uasPort]);
      const caller = sipp(server.dir, { scenario: 'held-call-uac.xml', target: server.sipPort, service: 'hal' });
      await eventually('call up', async () => metricValue(await metrics(server), 'siphon_dialogs_active'), (n) => n === 1);
      // The 200 confirms the dialog a moment before the caller's ACK reaches the node: stopping in
      // between would leave the callee retransmitting its 200 for an ACK that never comes.
      await eventually('ACK relayed', async () => Number(/^siphon_requests_total\{method="ACK"\} (\d+)$/m.exec(await metrics(server))?.[1] ?? 0), (n) => n >= 1);
      const started = Date.now();
      const code = await server.stop(10_000);
      stopped = true;
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(verdict(await caller)).toEqual(PASSED);
      expect(verdict(await callee)).toEqual(PASSED);
    } finally {
      if (!stopped) await server.stop();
    }
  }, 40_000);
});
