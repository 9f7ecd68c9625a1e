/**
 * End-to-end: NAT keep-alives (`nat.keepalive`) on the real server. Two UDP UAs register private
 * Contacts (as behind a NAT); the server pings each at the address it registered from with an
 * OPTIONS addressed to its contact. The one that answers keeps its binding; the silent one is
 * removed after `failure_threshold` unanswered pings.
 */
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { headerOf, statusOf, udpClient, type UdpClient } from '../helpers/sip-client.js';
import { eventually } from '../helpers/eventually.js';
import { bindingsOf } from './siphon-interop/sipp-runner.js';

const DOMAIN = 'ka.test';
let server: ServerProcess;
let answering: UdpClient;
let silent: UdpClient;

beforeAll(async () => {
  server = await startServer({
    config: { proxy: { local_domains: [DOMAIN] }, nat: { keepalive: { enabled: true, interval_secs: 1, failure_threshold: 2 } } },
  });
  answering = await udpClient();
  silent = await udpClient();
}, 30_000);

afterAll(async () => {
  await answering?.close();
  await silent?.close();
  expect(await server?.stop()).toBe(0);
});

function register(user: string, contactHost: string): string {
  return (
    `REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP ${contactHost}:5060;branch=z9hG4bK-ka-${user};rport\r\nMax-Forwards: 70\r\n` +
    `From: <sip:${user}@${DOMAIN}>;tag=${user}\r\nTo: <sip:${user}@${DOMAIN}>\r\nCall-ID: ka-reg-${user}@test\r\nCSeq: 1 REGISTER\r\n` +
    `Contact: <sip:${user}@${contactHost}:5060>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`
  );
}

test('a NATed binding that answers its OPTIONS pings stays; one that never answers is removed', async () => {
  answering.send(register('ann', '192.168.1.20'), server.sipPort);
  expect(statusOf(await answering.next())).toBe(200);
  silent.send(register('sil', '192.168.1.21'), server.sipPort);
  expect(statusOf(await silent.next())).toBe(200);

  // The pings arrive where each UA registered from, addressed to its contact; answered with 200.
  for (let i = 0; i < 3; i++) {
    const ping = await answering.next(5000);
    expect(ping).toMatch(/^OPTIONS sip:ann@192\.168\.1\.20:5060 SIP\/2\.0\r\n/);
    const copied = ping.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    answering.send(`SIP/2.0 200 OK\r\n${copied.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, server.sipPort);
    expect(headerOf(ping, 'Call-ID')).toBeDefined();
  }
  expect(await silent.next(3000)).toMatch(/^OPTIONS sip:sil@192\.168\.1\.21:5060 /);

  await eventually('silent binding removed', () => bindingsOf(server, `sil@${DOMAIN}`), (b) => b === null, 10_000);
  const kept = await bindingsOf(server, `ann@${DOMAIN}`);
  expect(kept?.length).toBe(1);
});
