/**
 * End-to-end: DSCP marking of signalling (RFC 4594 CS3 by default, `listen.dscp`, a listener's
 * own `dscp`) on the real server's sockets, read back from the kernel with `ss --tos`: the UDP
 * socket, the TCP listener and a connection it accepted (which inherits the listener's marking).
 */
import { execFileSync } from 'node:child_process';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.js';
import { sipRequest, statusOf, tcpClient, type TcpClient } from '../helpers/sip-client.js';

/** `ss --tos` lines of sockets whose local port is `port` (tcp or udp). */
function socketsOn(proto: 't' | 'u', port: number): string[] {
  const out = execFileSync('ss', [`-${proto}an`, '--tos', `sport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').slice(1).filter((l) => l.trim() !== '');
}

const tosOf = (line: string): number => Number((/tos:(0x[0-9a-f]+|\d+)/.exec(line) ?? [])[1]);

let server: ServerProcess;
let udpPort: number;
let tcpPort: number;
let tcp: TcpClient | null = null;

beforeAll(async () => {
  udpPort = await freePort();
  tcpPort = await freePort();
  server = await startServer({
    config: {
      listen: { udp: [{ address: `127.0.0.1:${udpPort}`, dscp: 'EF' }], tcp: [`127.0.0.1:${tcpPort}`], dscp: 'AF31' },
    },
  });
}, 30_000);

afterAll(async () => {
  tcp?.close();
  await server?.stop();
});

test('the UDP listener marks with its own DSCP (EF), the TCP listener and its accepted connections with listen.dscp (AF31)', async () => {
  const [udp] = socketsOn('u', udpPort);
  expect(tosOf(udp) >> 2).toBe(46);

  tcp = await tcpClient(tcpPort);
  tcp.send(sipRequest('OPTIONS', { transport: 'TCP', viaPort: tcp.localPort, uri: `sip:127.0.0.1:${tcpPort}` }));
  expect(statusOf(await tcp.next())).toBe(200);
  const lines = socketsOn('t', tcpPort);
  const listening = lines.find((l) => l.startsWith('LISTEN'));
  const accepted = lines.find((l) => l.startsWith('ESTAB'));
  expect(listening).toBeDefined();
  expect(accepted).toBeDefined();
  expect(tosOf(listening ?? '') >> 2).toBe(26);
  expect(tosOf(accepted ?? '') >> 2).toBe(26);
});
