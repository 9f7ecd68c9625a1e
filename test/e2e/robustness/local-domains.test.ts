/**
 * proxy.local_domains: phones of a served domain register as user@domain and call user@domain
 * while the node is reached by address; those requests are ours (location lookup), any other
 * domain stays a refused relay.
 */
import { startServer, type ServerProcess } from '../../helpers/server-process.js';
import { headerOf, sipRequest, statusOf, udpClient, type UdpClient } from '../../helpers/sip-client.js';

let server: ServerProcess;
let callee: UdpClient;
let caller: UdpClient;
beforeAll(async () => {
  server = await startServer({ config: { proxy: { local_domains: ['voip.example.com'] } } });
  callee = await udpClient();
  caller = await udpClient();
}, 30_000);
afterAll(async () => {
  await callee?.close();
  await caller?.close();
  if (server) expect(await server.stop()).toBe(0);
});

async function finalOf(c: UdpClient): Promise<string> {
  for (;;) {
    const m = await c.next(3000);
    if (statusOf(m) >= 200) return m;
  }
}

it('a served domain routes to the registered contact (any case); a foreign one gets 403', async () => {
  const reg = sipRequest('REGISTER', {
    uri: 'sip:voip.example.com', viaPort: callee.port, rport: true,
    extra: `Contact: <sip:alice@127.0.0.1:${callee.port}>\r\nExpires: 600\r\n`,
  })
    .replace(/^To: <[^>]*>/m, 'To: <sip:alice@voip.example.com>')
    .replace(/^From: <[^>]*>/m, 'From: <sip:alice@voip.example.com>');
  callee.send(reg, server.sipPort);
  expect(statusOf(await callee.next(3000))).toBe(200);

  caller.send(sipRequest('INVITE', { uri: 'sip:alice@VOIP.Example.com', viaPort: caller.port, rport: true, extra: `Contact: <sip:bob@127.0.0.1:${caller.port}>\r\n` }), server.sipPort);
  const inbound = await callee.next(3000);
  expect(inbound.startsWith(`INVITE sip:alice@127.0.0.1:${callee.port} SIP/2.0`)).toBe(true);
  const vias = inbound.slice(0, inbound.indexOf('\r\n\r\n')).split('\r\n').filter((l) => /^Via\s*:/i.test(l));
  const copy = (n: string) => `${n}: ${headerOf(inbound, n) ?? ''}\r\n`;
  callee.send(`SIP/2.0 486 Busy Here\r\n${vias.join('\r\n')}\r\n${copy('From')}To: ${headerOf(inbound, 'To') ?? ''};tag=a1\r\n${copy('Call-ID')}${copy('CSeq')}Content-Length: 0\r\n\r\n`, server.sipPort);
  expect(statusOf(await finalOf(caller))).toBe(486);

  caller.send(sipRequest('INVITE', { uri: 'sip:alice@elsewhere.example.net', viaPort: caller.port, rport: true }), server.sipPort);
  const refused = await finalOf(caller);
  expect(refused.split('\r\n')[0]).toBe('SIP/2.0 403 Not relaying');
}, 20_000);
