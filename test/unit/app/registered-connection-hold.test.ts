/**
 * A UA registered over a stream connection can be reached only over it, so its connection is held
 * open through its registration (Kamailio's `tcp_persistent_flag`), past transport.tcp_idle_timeout_secs.
 * A connection that registered nothing still closes when idle.
 */
import { startInProcessApp, type InProcessApp } from '../../helpers/in-process-app.js';
import { sleep } from '../../helpers/eventually.js';
import { statusOf, tcpClient, type TcpClient } from '../../helpers/sip-client.js';

let app: InProcessApp;
const clients: TcpClient[] = [];

beforeAll(async () => {
  app = await startInProcessApp({ listen: { udp: ['127.0.0.1:0'], tcp: ['127.0.0.1:0'] }, transport: { tcp_idle_timeout_secs: 1 } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await app.stop();
});

function closed(c: TcpClient): Promise<boolean> {
  return new Promise((resolve) => {
    if (c.socket.destroyed || c.socket.readableEnded) resolve(true);
    c.socket.once('close', () => resolve(true));
  });
}

function request(c: TcpClient, method: string, lines: readonly string[]): string {
  return `${method} sip:127.0.0.1:${app.node.tcp[0].listener.port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${c.localPort};branch=z9hG4bK-hold-${method}-${c.localPort}\r\nMax-Forwards: 70\r\n` +
    `${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
}

test('a connection a binding was registered over outlives the idle timeout; one that only sent OPTIONS does not', async () => {
  const port = app.node.tcp[0].listener.port;
  const registered = await tcpClient(port);
  const idle = await tcpClient(port);
  clients.push(registered, idle);
  registered.send(request(registered, 'REGISTER', [
    'From: <sip:hold@127.0.0.1>;tag=h1', 'To: <sip:hold@127.0.0.1>', 'Call-ID: hold-1', 'CSeq: 1 REGISTER',
    `Contact: <sip:hold@127.0.0.1:${registered.localPort};transport=tcp>`, 'Expires: 60',
  ]));
  expect(statusOf(await registered.next())).toBe(200);
  idle.send(request(idle, 'OPTIONS', ['From: <sip:x@127.0.0.1>;tag=o1', 'To: <sip:127.0.0.1>', 'Call-ID: hold-2', 'CSeq: 1 OPTIONS']));
  expect(statusOf(await idle.next())).toBe(200);

  const idleClosed = closed(idle);
  let registeredClosed = false;
  void closed(registered).then(() => (registeredClosed = true));
  await expect(Promise.race([idleClosed, sleep(3000).then(() => false)])).resolves.toBe(true);
  await sleep(500);
  expect(registeredClosed).toBe(false);
  expect(app.node.tcp[0].connectionCount).toBe(1);
});
