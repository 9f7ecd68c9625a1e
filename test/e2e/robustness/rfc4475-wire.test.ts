/**
 * RFC 4475 torture messages sent byte-exact to the running node over UDP and TCP. The parser's unit
 * tests judge each message; this checks the whole node: it never crashes or stalls, an invalid
 * request gets the 4xx the RFC discusses with a reason naming the fault (or is dropped where that
 * is the verdict), and an OPTIONS after each message is still answered.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serverPerSuite, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { statusOf, tcpClient, udpClient } from '../../helpers/sip-client.js';
import { SHARED_DIR, optionsAnswered } from './harness.js';

const DIR = join(SHARED_DIR, 'rfc4475');
const load = (name: string): Buffer => readFileSync(join(DIR, `${name}.sip`));

/**
 * 'reply': any answer or none (well-formed; the routing decision is not judged here).
 * 'routed': the same, or the 500 a proxy answers when its next hop cannot be reached (§16.9 makes
 * the transport error a 503, §16.7 item 6 a 500 upstream): wsinv's Request-URI host
 * (chair-dnrc.example.com) does not resolve.
 */
type Verdict = 'reply' | 'routed' | 'drop' | readonly [number, RegExp];

// RFC 4475 §3.1.2 / §3.1.4 verdicts. badinv01's Via is itself broken (`;;,;,,`): the 400 goes
// back where the bytes came from (§3.1.2.1 says an element "could" answer 400).
const UDP: Record<string, Verdict | 'drop-or-400'> = {
  wsinv: 'routed',
  badinv01: [400, /Empty Via value/],
  clerr: [400, /Content-Length/],
  ncl: [400, /Content-Length/],
  scalar02: [400, /out of range/],
  scalarlg: 'drop',
  quotbal: [400, /Unterminated quoted string/],
  ltgtruri: [400, /Request-URI/],
  lwsruri: [400, /Request-Line/],
  lwsstart: [400, /Request-Line/],
  trws: [400, /Request-Line/],
  escruri: [400, /Headers in Request-URI/],
  baddate: [400, /Date/],
  regbadct: [400, /enclosed in <>/],
  badaspec: [400, /URI/],
  baddn: [400, /display name/],
  badvers: [505, /Version Not Supported/],
  mismatch01: [400, /CSeq method/],
  mismatch02: [400, /CSeq method/],
  bigcode: 'drop',
  insuf: [400, /Missing (From|To|Call-ID)/],
  unkscm: [416, /Unsupported URI Scheme/],
  novelsc: [416, /Unsupported URI Scheme/],
  // §3.1.4.4: a registrar rejects a To that is not a SIP/SIPS AoR, saying so.
  unksm2: [400, /SIP or SIPS/],
  bext01: [420, /Bad Extension/],
  multi01: [400, /Multiple/],
  mcl01: [400, /Content-Length/],
  zeromf: [483, /Too Many Hops/],
  // Responses to nothing: absorbed silently (RFC 3261 §16.7 / §18.1.2).
  unreason: 'drop',
  noreason: 'drop',
  bcast: 'drop',
};

// On a stream the framer decides first (RFC 3261 §18.3): a Content-Length larger than what follows
// waits for more bytes, and a message without a blank line is not yet complete.
const TCP: Record<string, Verdict | 'drop-or-400'> = {
  ...UDP,
  clerr: 'drop',
  baddn: 'drop',
  ncl: [400, /Content-Length/],
  inv2543: [400, /Content-Length/],
};

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.sip'))
  .map((f) => f.slice(0, -4))
  .sort();

function judge(name: string, verdict: Verdict | 'drop-or-400', reply: string | null): void {
  const status = reply === null ? null : statusOf(reply);
  const reason = reply === null ? '' : (reply.split('\r\n')[0] ?? '').replace(/^SIP\/2\.0 \d{3} ?/, '');
  const seen = { name, status, reason };
  if (verdict === 'drop') expect(seen).toEqual({ name, status: null, reason: '' });
  else if (verdict === 'drop-or-400') expect([null, 400]).toContain(status);
  else if (verdict === 'reply' || verdict === 'routed') {
    const allowed = status === null || (status >= 100 && status < 500) || status === 501 || (verdict === 'routed' && status === 500);
    expect({ name, status, allowed }).toEqual({ name, status, allowed: true });
  }
  else {
    expect({ name, status }).toEqual({ name, status: verdict[0] });
    expect(reason).toMatch(verdict[1]);
  }
}

const waitFor = (v: Verdict | 'drop-or-400'): number => (Array.isArray(v) ? 2000 : 400);

describe('RFC 4475 messages on the wire', () => {
  it('the corpus is the 49 messages', () => {
    expect(files).toHaveLength(49);
  });

  describe('over UDP', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      // force_rport: the torture Vias name hosts we are not, so answer where the bytes came from.
      server = await startServer({ config: { nat: { force_rport: true } } });
    }, 30_000);
    afterAll(async () => {
      if (server) expect(await server.stop()).toBe(0);
    });

    for (const name of files) {
      it(`${name}: verdict, then OPTIONS still answered`, async () => {
        const verdict = UDP[name] ?? 'reply';
        const c = await udpClient();
        try {
          c.send(load(name), server.sipPort);
          const reply = await c.next(waitFor(verdict)).catch(() => null);
          judge(name, verdict, reply);
        } finally {
          await c.close();
        }
        expect(await optionsAnswered(server)).toBe(200);
      }, 15_000);
    }
  });

  describe('over TCP', () => {
    const server = serverPerSuite();

    for (const name of files) {
      it(`${name}: verdict on its own connection, then OPTIONS still answered`, async () => {
        const verdict = TCP[name] ?? 'reply';
        const c = await tcpClient(server.sipPort);
        try {
          c.send(load(name));
          const reply = await c.next(waitFor(verdict)).catch(() => null);
          judge(name, verdict, reply);
        } finally {
          c.close();
        }
        expect(await optionsAnswered(server)).toBe(200);
      }, 15_000);
    }
  });

  describe('the corpus reuses branch z9hG4bKkdjuw: a retransmission is answered where it arrived (§18.2.2)', () => {
    const server = serverPerSuite({ config: { nat: { force_rport: true } } });

    it('cparam01 then cparam02 (same branch, sent-by and method) from two UDP sockets: both answered (§17.2.3, RFC 3581 §4)', async () => {
      const a = await udpClient();
      const b = await udpClient();
      try {
        a.send(load('cparam01'), server.sipPort);
        expect(statusOf(await a.next(2000))).toBe(200);
        b.send(load('cparam02'), server.sipPort);
        expect(statusOf(await b.next(2000))).toBe(200);
      } finally {
        await a.close();
        await b.close();
      }
    }, 15_000);

    it('the same request over UDP and then over TCP: the TCP sender is answered on its connection', async () => {
      const u = await udpClient();
      const t = await tcpClient(server.sipPort);
      try {
        u.send(load('regaut01'), server.sipPort);
        const first = await u.next(2000);
        t.send(load('regaut01'));
        const again = await t.next(2000);
        expect(statusOf(again)).toBe(statusOf(first));
      } finally {
        await u.close();
        t.close();
      }
    }, 15_000);
  });
});
