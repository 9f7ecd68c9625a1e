/**
 * Registrar and proxy behaviour as a SIPp script or a real phone exercises it (RFC 3261 §10.3,
 * §16), against the running node with the default script and no auth.
 */
import { serverPerSuite } from '../../helpers/server-process.js';
import { headerOf, sipRequest, statusOf, tcpClient, udpClient, type UdpClient } from '../../helpers/sip-client.js';
import { optionsAnswered, sleep } from './harness.js';

const server = serverPerSuite();

const registrarUri = () => `sip:127.0.0.1:${server.sipPort}`;

/** REGISTER for `user` with the given extra headers; Call-ID/CSeq overridable for refreshes. */
function register(c: UdpClient, user: string, extra: string, opts: { callId?: string; cseq?: number } = {}): string {
  let req = sipRequest('REGISTER', { uri: registrarUri(), viaPort: c.port, rport: true, extra })
    .replace(/^To: <[^>]*>/m, `To: <sip:${user}@127.0.0.1>`)
    .replace(/^From: <[^>]*>/m, `From: <sip:${user}@127.0.0.1>`);
  if (opts.callId !== undefined) req = req.replace(/^Call-ID: .*$/m, `Call-ID: ${opts.callId}`);
  if (opts.cseq !== undefined) req = req.replace(/^CSeq: \d+/m, `CSeq: ${opts.cseq}`);
  return req;
}

/** The final response to `req` (skipping provisionals). */
async function finalFor(c: UdpClient, req: string, timeoutMs = 3000): Promise<string> {
  c.send(req, server.sipPort);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await c.next(Math.max(1, deadline - Date.now()));
    if (statusOf(res) >= 200) return res;
  }
}

/** Contact header lines of a response (each may carry several comma-separated values). */
function contactsOf(res: string): string[] {
  const head = res.slice(0, res.indexOf('\r\n\r\n'));
  return head
    .split('\r\n')
    .filter((l) => /^(Contact|m)\s*:/i.test(l))
    .flatMap((l) => l.slice(l.indexOf(':') + 1).split(/,(?=\s*<)/))
    .map((v) => v.trim());
}

const expiresOf = (contact: string): number => Number(/;expires=(\d+)/.exec(contact)?.[1] ?? NaN);

describe('registrar interop', () => {
  let c: UdpClient;
  beforeEach(async () => {
    c = await udpClient();
  });
  afterEach(async () => {
    await c.close();
  });

  it('the Contact expires parameter wins over the Expires header; without it the header applies (§10.2.1.1)', async () => {
    const a = await finalFor(c, register(c, 'exp1', `Contact: <sip:exp1@127.0.0.1:${c.port}>;expires=120\r\nExpires: 3600\r\n`));
    expect(statusOf(a)).toBe(200);
    expect(contactsOf(a).map(expiresOf)).toEqual([120]);
    const b = await finalFor(c, register(c, 'exp2', `Contact: <sip:exp2@127.0.0.1:${c.port}>\r\nExpires: 300\r\n`));
    expect(statusOf(b)).toBe(200);
    expect(contactsOf(b).map(expiresOf)).toEqual([300]);
  }, 15_000);

  it('several Contacts in one REGISTER (one header and separate headers) are all bound', async () => {
    const res = await finalFor(
      c,
      register(c, 'multi', `Contact: <sip:m1@127.0.0.1:5071>, <sip:m2@127.0.0.1:5072>;expires=200\r\nContact: <sip:m3@127.0.0.1:5073>\r\nExpires: 600\r\n`),
    );
    expect(statusOf(res)).toBe(200);
    const got = contactsOf(res);
    expect(got.map((v) => /<([^>]*)>/.exec(v)?.[1]).sort()).toEqual(['sip:m1@127.0.0.1:5071', 'sip:m2@127.0.0.1:5072', 'sip:m3@127.0.0.1:5073']);
    expect(got.map(expiresOf).sort()).toEqual([200, 600, 600]);
  }, 15_000);

  it('a query REGISTER without Contact returns the bindings unchanged (§10.2.3)', async () => {
    await finalFor(c, register(c, 'query', `Contact: <sip:q1@127.0.0.1:5081>, <sip:q2@127.0.0.1:5082>\r\nExpires: 600\r\n`));
    const res = await finalFor(c, register(c, 'query', ''));
    expect(statusOf(res)).toBe(200);
    expect(contactsOf(res)).toHaveLength(2);
  }, 15_000);

  it('Contact: * with Expires: 0 removes every binding; with another Expires it is a 400 (§10.2.2, §10.3 step 6)', async () => {
    const callId = `unreg-all-${Date.now()}`;
    await finalFor(c, register(c, 'wipe', `Contact: <sip:w1@127.0.0.1:5091>, <sip:w2@127.0.0.1:5092>\r\nExpires: 600\r\n`, { callId, cseq: 1 }));
    const bad = await finalFor(c, register(c, 'wipe', 'Contact: *\r\nExpires: 60\r\n', { callId, cseq: 2 }));
    expect(statusOf(bad)).toBe(400);
    const res = await finalFor(c, register(c, 'wipe', 'Contact: *\r\nExpires: 0\r\n', { callId, cseq: 3 }));
    expect(statusOf(res)).toBe(200);
    expect(contactsOf(res)).toEqual([]);
    const query = await finalFor(c, register(c, 'wipe', ''));
    expect(contactsOf(query)).toEqual([]);
  }, 15_000);

  it('a too-short expiry gets 423 with Min-Expires (§10.3 step 7)', async () => {
    const res = await finalFor(c, register(c, 'short', `Contact: <sip:short@127.0.0.1:${c.port}>\r\nExpires: 10\r\n`));
    expect(statusOf(res)).toBe(423);
    expect(headerOf(res, 'Min-Expires')).toBe('60');
    const param = await finalFor(c, register(c, 'short', `Contact: <sip:short@127.0.0.1:${c.port}>;expires=5\r\n`));
    expect(statusOf(param)).toBe(423);
  }, 15_000);

  it('a refresh with a new Call-ID replaces the binding instead of adding one (§10.3 step 7)', async () => {
    const contact = `Contact: <sip:fresh@127.0.0.1:${c.port}>\r\nExpires: 600\r\n`;
    await finalFor(c, register(c, 'fresh', contact, { callId: `first-${Date.now()}`, cseq: 5 }));
    const res = await finalFor(c, register(c, 'fresh', contact, { callId: `second-${Date.now()}`, cseq: 1 }));
    expect(statusOf(res)).toBe(200);
    expect(contactsOf(res)).toHaveLength(1);
  }, 15_000);

  it('an expiry above max_expires is clamped; expires=0 on one Contact removes only that binding', async () => {
    const big = await finalFor(c, register(c, 'clamp', `Contact: <sip:clamp@127.0.0.1:${c.port}>\r\nExpires: 999999\r\n`));
    expect(contactsOf(big).map(expiresOf)).toEqual([86_400]);
    const callId = `one-off-${Date.now()}`;
    await finalFor(c, register(c, 'oneoff', 'Contact: <sip:o1@127.0.0.1:5101>, <sip:o2@127.0.0.1:5102>\r\nExpires: 600\r\n', { callId, cseq: 1 }));
    const res = await finalFor(c, register(c, 'oneoff', 'Contact: <sip:o1@127.0.0.1:5101>;expires=0\r\n', { callId, cseq: 2 }));
    expect(contactsOf(res).map((v) => /<([^>]*)>/.exec(v)?.[1])).toEqual(['sip:o2@127.0.0.1:5102']);
  }, 15_000);

  it('malformed registrations get a 400 whose reason names the fault', async () => {
    const cases: [string, RegExp][] = [
      [register(c, 'bad1', `Contact: <sip:bad1@127.0.0.1:${c.port}>\r\nExpires: soon\r\n`), /Expires/],
      [register(c, 'bad2', `Contact: <sip:bad2@127.0.0.1:${c.port}>;expires=later\r\n`), /expires/],
      [register(c, 'bad3', 'Contact: *, <sip:bad3@127.0.0.1:5111>\r\nExpires: 0\r\n'), /\*/],
      [register(c, 'bad4', `Contact: <sip:bad4@127.0.0.1:${c.port}>\r\n`).replace(/^To: <[^>]*>/m, 'To: <tel:+15551234>'), /SIP or SIPS/],
    ];
    for (const [req, reason] of cases) {
      const res = await finalFor(c, req);
      expect(statusOf(res)).toBe(400);
      expect(res.split('\r\n')[0]).toMatch(reason);
    }
  }, 15_000);

  it('REGISTER over TCP, then a call to that user comes back over the same connection (RFC 5626 flow reuse)', async () => {
    const t = await tcpClient(server.sipPort);
    const caller = await udpClient();
    try {
      const reg = sipRequest('REGISTER', { transport: 'TCP', uri: registrarUri(), viaPort: t.localPort, extra: `Contact: <sip:tcpuser@127.0.0.1:${t.localPort};transport=tcp>\r\nExpires: 600\r\n` })
        .replace(/^To: <[^>]*>/m, 'To: <sip:tcpuser@127.0.0.1>')
        .replace(/^From: <[^>]*>/m, 'From: <sip:tcpuser@127.0.0.1>');
      t.send(reg);
      expect(statusOf(await t.next(3000))).toBe(200);
      const invite = sipRequest('INVITE', { uri: `sip:tcpuser@127.0.0.1:${server.sipPort}`, viaPort: caller.port, rport: true, extra: `Contact: <sip:caller@127.0.0.1:${caller.port}>\r\n` });
      caller.send(invite, server.sipPort);
      const inbound = await t.next(3000);
      expect(inbound.startsWith(`INVITE sip:tcpuser@127.0.0.1:${t.localPort}`)).toBe(true);
      // Decline on the same connection; the caller gets it through the proxy.
      const vias = inbound.slice(0, inbound.indexOf('\r\n\r\n')).split('\r\n').filter((l) => /^(Via|v)\s*:/i.test(l));
      const copy = (n: string) => `${n}: ${headerOf(inbound, n) ?? ''}\r\n`;
      t.send(`SIP/2.0 486 Busy Here\r\n${vias.join('\r\n')}\r\n${copy('From')}To: ${headerOf(inbound, 'To') ?? ''};tag=callee\r\n${copy('Call-ID')}${copy('CSeq')}Content-Length: 0\r\n\r\n`);
      let final = await caller.next(3000);
      while (statusOf(final) < 200) final = await caller.next(3000);
      expect(statusOf(final)).toBe(486);
    } finally {
      t.close();
      await caller.close();
    }
  }, 20_000);

  it('a UDP caller and a TCP callee: two Record-Routes (RFC 5658), and the callee\'s BYE over TCP reaches the caller over UDP', async () => {
    const t = await tcpClient(server.sipPort);
    const caller = await udpClient();
    const lines = (m: string, name: string) =>
      m.slice(0, m.indexOf('\r\n\r\n')).split('\r\n').filter((l) => new RegExp(`^${name}\\s*:`, 'i').test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
    try {
      const reg = sipRequest('REGISTER', { transport: 'TCP', uri: registrarUri(), viaPort: t.localPort, extra: `Contact: <sip:rr5658@127.0.0.1:${t.localPort};transport=tcp>\r\nExpires: 600\r\n` })
        .replace(/^To: <[^>]*>/m, 'To: <sip:rr5658@127.0.0.1>')
        .replace(/^From: <[^>]*>/m, 'From: <sip:rr5658@127.0.0.1>');
      t.send(reg);
      expect(statusOf(await t.next(3000))).toBe(200);
      const invite = sipRequest('INVITE', { uri: `sip:rr5658@127.0.0.1:${server.sipPort}`, viaPort: caller.port, rport: true, extra: `Contact: <sip:caller@127.0.0.1:${caller.port}>\r\n` });
      caller.send(invite, server.sipPort);
      const inbound = await t.next(3000);
      const rr = lines(inbound, 'Record-Route');
      expect(rr).toEqual([`<sip:127.0.0.1:${server.sipPort};transport=tcp;lr>`, `<sip:127.0.0.1:${server.sipPort};lr>`]);
      // The callee answers 200 with the Record-Routes echoed (§12.1.1), then hangs up along its route set.
      const vias = lines(inbound, 'Via').map((v) => `Via: ${v}`);
      const copy = (n: string) => `${n}: ${headerOf(inbound, n) ?? ''}\r\n`;
      const toWithTag = `To: ${headerOf(inbound, 'To') ?? ''};tag=callee\r\n`;
      t.send(`SIP/2.0 200 OK\r\n${vias.join('\r\n')}\r\n${rr.map((v) => `Record-Route: ${v}\r\n`).join('')}${copy('From')}${toWithTag}${copy('Call-ID')}${copy('CSeq')}Contact: <sip:rr5658@127.0.0.1:${t.localPort};transport=tcp>\r\nContent-Length: 0\r\n\r\n`);
      let ok = await caller.next(3000);
      while (statusOf(ok) < 200) ok = await caller.next(3000);
      expect(statusOf(ok)).toBe(200);
      // The caller's route set is the reverse: the UDP-facing route first.
      expect(lines(ok, 'Record-Route').reverse()[0]).toBe(`<sip:127.0.0.1:${server.sipPort};lr>`);
      const bye = `BYE sip:caller@127.0.0.1:${caller.port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${t.localPort};branch=z9hG4bK-rr5658-bye\r\nMax-Forwards: 70\r\n` +
        rr.map((v) => `Route: ${v}\r\n`).join('') +
        `From: <sip:rr5658@127.0.0.1>;tag=callee\r\nTo: ${headerOf(inbound, 'From') ?? ''}\r\n${copy('Call-ID')}CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`;
      t.send(bye);
      let atCaller = await caller.next(3000);
      while (!atCaller.startsWith('BYE ')) atCaller = await caller.next(3000);
      expect(lines(atCaller, 'Route')).toEqual([]); // both of our routes popped
      const byeVias = lines(atCaller, 'Via').map((v) => `Via: ${v}`);
      caller.send(`SIP/2.0 200 OK\r\n${byeVias.join('\r\n')}\r\nFrom: ${headerOf(atCaller, 'From') ?? ''}\r\nTo: ${headerOf(atCaller, 'To') ?? ''}\r\nCall-ID: ${headerOf(atCaller, 'Call-ID') ?? ''}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`, server.sipPort);
      let byeOk = await t.next(3000);
      while (!byeOk.startsWith('SIP/2.0 ')) byeOk = await t.next(3000);
      expect(statusOf(byeOk)).toBe(200);
    } finally {
      t.close();
      await caller.close();
    }
  }, 20_000);
});

describe('proxy edge cases', () => {
  let c: UdpClient;
  beforeEach(async () => {
    c = await udpClient();
  });
  afterEach(async () => {
    await c.close();
  });

  const invite = (user: string, extra = '') =>
    sipRequest('INVITE', { uri: `sip:${user}@127.0.0.1:${server.sipPort}`, viaPort: c.port, rport: true, extra: `Contact: <sip:caller@127.0.0.1:${c.port}>\r\n${extra}` });

  it('INVITE with Max-Forwards: 0 gets 483 (§16.3 step 2)', async () => {
    const res = await finalFor(c, invite('anyone').replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    expect(statusOf(res)).toBe(483);
  }, 15_000);

  it('an INVITE to an unregistered user gets 404 with a To tag (§16.5, §8.2.6.2)', async () => {
    const res = await finalFor(c, invite('nobody-here'));
    expect(statusOf(res)).toBe(404);
    expect(headerOf(res, 'To')).toMatch(/;tag=\S+/);
  }, 15_000);

  it('a retransmitted INVITE gets the same final response, To tag included (§17.2.1)', async () => {
    const req = invite('nobody-either');
    const first = await finalFor(c, req);
    const second = await finalFor(c, req);
    expect(statusOf(second)).toBe(statusOf(first));
    expect(headerOf(second, 'To')).toBe(headerOf(first, 'To'));
  }, 15_000);

  it('a CANCEL matching no transaction gets 481 (§9.2)', async () => {
    const res = await finalFor(c, sipRequest('CANCEL', { uri: `sip:ghost@127.0.0.1:${server.sipPort}`, viaPort: c.port, rport: true }));
    expect(statusOf(res)).toBe(481);
  }, 15_000);

  it('a BYE for an unknown dialog gets 404 or 481', async () => {
    const res = await finalFor(c, sipRequest('BYE', { uri: `sip:ghost@127.0.0.1:${server.sipPort}`, viaPort: c.port, rport: true, toTag: 'gone' }));
    expect([404, 481]).toContain(statusOf(res));
  }, 15_000);

  it('a binding that points back at the proxy is a loop: the caller gets 482/483, the node stays up (§16.3 step 4)', async () => {
    await finalFor(c, register(c, 'loopy', `Contact: <sip:loopy@127.0.0.1:${server.sipPort}>\r\nExpires: 600\r\n`));
    const res = await finalFor(c, invite('loopy'), 10_000);
    expect([482, 483]).toContain(statusOf(res));
    await sleep(200);
    expect(await optionsAnswered(server)).toBe(200);
  }, 20_000);

  it('a Route set naming us over and over ends in a final response, not a spin', async () => {
    const own = `<sip:127.0.0.1:${server.sipPort};lr>`;
    const res = await finalFor(c, invite('nobody-routed', `Route: ${Array.from({ length: 40 }, () => own).join(', ')}\r\n`), 10_000);
    expect(statusOf(res)).toBeGreaterThanOrEqual(400);
    expect(await optionsAnswered(server)).toBe(200);
  }, 20_000);
});
