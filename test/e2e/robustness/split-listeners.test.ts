/**
 * UDP and TCP on different ports: what the node writes about itself (Via sent-by, Record-Route)
 * names the listener of the transport it is written for, so each side of a dialog reaches a port
 * that is actually listening for it.
 */
import { freePort, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { sipRequest, statusOf, tcpClient, udpClient } from '../../helpers/sip-client.js';

let server: ServerProcess;
let udpPort: number;
let tcpPort: number;
beforeAll(async () => {
  udpPort = await freePort();
  tcpPort = await freePort();
  server = await startServer({ config: { listen: { udp: [`127.0.0.1:${udpPort}`], tcp: [`127.0.0.1:${tcpPort}`] } } });
}, 30_000);
afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
});

it('a UDP caller reaching a TCP callee: the callee sees our TCP port in Via and in its Record-Route', async () => {
  const t = await tcpClient(tcpPort);
  const caller = await udpClient();
  try {
    const reg = sipRequest('REGISTER', { transport: 'TCP', uri: `sip:127.0.0.1:${tcpPort}`, viaPort: t.localPort, extra: `Contact: <sip:split@127.0.0.1:${t.localPort};transport=tcp>\r\nExpires: 600\r\n` })
      .replace(/^To: <[^>]*>/m, 'To: <sip:split@127.0.0.1>')
      .replace(/^From: <[^>]*>/m, 'From: <sip:split@127.0.0.1>');
    t.send(reg);
    expect(statusOf(await t.next(3000))).toBe(200);
    caller.send(sipRequest('INVITE', { uri: `sip:split@127.0.0.1:${udpPort}`, viaPort: caller.port, rport: true, extra: `Contact: <sip:c@127.0.0.1:${caller.port}>\r\n` }), udpPort);
    const inbound = await t.next(3000);
    const head = inbound.slice(0, inbound.indexOf('\r\n\r\n')).split('\r\n');
    const values = (name: string) => head.filter((l) => new RegExp(`^${name}\\s*:`, 'i').test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
    expect(values('Record-Route')).toEqual([`<sip:127.0.0.1:${tcpPort};transport=tcp;lr>`, `<sip:127.0.0.1:${udpPort};lr>`]);
    expect(values('Via')[0]).toMatch(new RegExp(`^SIP/2\\.0/TCP 127\\.0\\.0\\.1:${tcpPort};`));
  } finally {
    t.close();
    await caller.close();
  }
}, 20_000);
