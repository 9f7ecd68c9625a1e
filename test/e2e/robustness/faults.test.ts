/**
 * Fault injection around the running node: the process paused mid-traffic, a caller whose TCP
 * connection dies before the answer, a callee that vanishes. The node must recover and stay up.
 */
import { serverPerSuite } from '../../helpers/server-process.js';
import { sipRequest, statusOf, tcpClient, udpClient } from '../../helpers/sip-client.js';
import { optionsAnswered, sleep } from './harness.js';

const server = serverPerSuite({ config: { transport: { tcp_connect_timeout_ms: 500 } } });

const own = () => `sip:127.0.0.1:${server.sipPort}`;

it('paused (SIGSTOP) for a second under traffic, the node answers everything queued once resumed', async () => {
  const c = await udpClient();
  try {
    process.kill(server.pid, 'SIGSTOP');
    let resumed = false;
    try {
      for (let i = 0; i < 50; i++) c.send(sipRequest('OPTIONS', { uri: own(), viaPort: c.port, rport: true }), server.sipPort);
      await sleep(1000);
    } finally {
      process.kill(server.pid, 'SIGCONT');
      resumed = true;
    }
    expect(resumed).toBe(true);
    let answered = 0;
    for (let i = 0; i < 50; i++) if (statusOf(await c.next(3000)) === 200) answered++;
    expect(answered).toBe(50);
  } finally {
    await c.close();
  }
}, 20_000);

it('a TCP caller that disconnects before the callee answers costs nothing: the node stays up', async () => {
  const callee = await udpClient();
  const reg = await udpClient();
  try {
    const r = sipRequest('REGISTER', { uri: own(), viaPort: reg.port, rport: true, extra: `Contact: <sip:gone@127.0.0.1:${callee.port}>\r\nExpires: 600\r\n` })
      .replace(/^To: <[^>]*>/m, 'To: <sip:gone@127.0.0.1>');
    reg.send(r, server.sipPort);
    expect(statusOf(await reg.next(2000))).toBe(200);

    const caller = await tcpClient(server.sipPort);
    // The Via names a port nobody listens on, so the fallback connection (§18.2.2) is refused too.
    caller.send(sipRequest('INVITE', { transport: 'TCP', uri: `sip:gone@127.0.0.1:${server.sipPort}`, viaPort: 1, extra: 'Contact: <sip:c@127.0.0.1:1;transport=tcp>\r\n' }));
    const inv = await callee.next(3000);
    expect(inv.startsWith('INVITE ')).toBe(true);
    caller.close();
    await sleep(100);
    const head = inv.slice(0, inv.indexOf('\r\n\r\n'));
    const lines = head.split('\r\n');
    const keep = lines.filter((l) => /^(Via|From|Call-ID|CSeq|Record-Route)\s*:/i.test(l));
    const to = lines.find((l) => /^To\s*:/i.test(l)) ?? 'To: <sip:gone@127.0.0.1>';
    for (const status of ['180 Ringing', '200 OK']) {
      callee.send(`SIP/2.0 ${status}\r\n${keep.join('\r\n')}\r\n${to};tag=gone1\r\nContact: <sip:gone@127.0.0.1:${callee.port}>\r\nContent-Length: 0\r\n\r\n`, server.sipPort);
    }
    await sleep(1000);
    expect(await optionsAnswered(server)).toBe(200);
  } finally {
    await callee.close();
    await reg.close();
  }
}, 20_000);

it('a callee that never answers: the caller gets 100 Trying, its CANCEL gets 200, the node stays up', async () => {
  const callee = await udpClient();
  const caller = await udpClient();
  try {
    const r = sipRequest('REGISTER', { uri: own(), viaPort: caller.port, rport: true, extra: `Contact: <sip:mute@127.0.0.1:${callee.port}>\r\nExpires: 600\r\n` })
      .replace(/^To: <[^>]*>/m, 'To: <sip:mute@127.0.0.1>');
    caller.send(r, server.sipPort);
    expect(statusOf(await caller.next(2000))).toBe(200);
    const invite = sipRequest('INVITE', { uri: `sip:mute@127.0.0.1:${server.sipPort}`, viaPort: caller.port, rport: true, extra: `Contact: <sip:c@127.0.0.1:${caller.port}>\r\n` });
    caller.send(invite, server.sipPort);
    expect(statusOf(await caller.next(2000))).toBe(100);
    await callee.next(2000); // the forwarded INVITE, never answered
    const cancel = invite
      .replace(/^INVITE /, 'CANCEL ')
      .replace(/^CSeq: (\d+) INVITE/m, 'CSeq: $1 CANCEL')
      .replace(/^Contact: .*\r\n/m, '');
    caller.send(cancel, server.sipPort);
    // §16.10: the CANCEL is answered at once; with no provisional from the callee the branch is not
    // CANCELled downstream yet (§9.1), so the INVITE ends later by its timers, not here.
    const got: number[] = [];
    for (;;) {
      const res = await caller.next(1500).catch(() => null);
      if (res === null) break;
      got.push(statusOf(res));
    }
    expect(got).toContain(200);
    expect(got.filter((s) => s >= 500)).toEqual([]);
    expect(await optionsAnswered(server)).toBe(200);
  } finally {
    await callee.close();
    await caller.close();
  }
}, 20_000);
