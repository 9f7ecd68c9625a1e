/**
 * A log destination that refuses every write (a full disk: /dev/full answers ENOSPC) costs the
 * operator their log lines, never the service: SIP keeps being answered, stderr says so once, and
 * SIGTERM still stops the node cleanly (sonic-boom's synchronous flush would otherwise retry the
 * failing write forever at exit).
 */
import { startServer } from '../../helpers/server-process.js';
import { sipRequest, statusOf, udpClient } from '../../helpers/sip-client.js';

it('with the log on a full disk the node serves, warns once on stderr, and exits 0 on SIGTERM', async () => {
  const server = await startServer({ config: { log: { format: 'json', level: 'info', file: '/dev/full' } } });
  const ua = await udpClient();
  try {
    for (let i = 0; i < 3; i++) {
      ua.send(sipRequest('OPTIONS', { uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: ua.port }), server.sipPort);
      expect(statusOf(await ua.next(3000))).toBe(200);
    }
    server.child.kill('SIGHUP'); // reopen: still the same full device
    ua.send(sipRequest('OPTIONS', { uri: `sip:127.0.0.1:${server.sipPort}`, viaPort: ua.port }), server.sipPort);
    expect(statusOf(await ua.next(3000))).toBe(200);
  } finally {
    await ua.close();
  }
  const t0 = Date.now();
  expect(await server.stop(8000)).toBe(0);
  expect(Date.now() - t0).toBeLessThan(5000);
  const notices = server.output().match(/siphon: log \/dev\/full: write failed \(ENOSPC\)/g) ?? [];
  expect(notices).toHaveLength(1);
}, 30_000);
