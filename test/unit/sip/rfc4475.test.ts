// Every RFC 4475 torture message and the verdict the RFC discusses for it; valid ones must round-trip.
import { resolve } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { parseMessage, serialize, SipRequest, SipResponse } from '../../../node/sip/index.js';
import { judge } from './rfc4475-verdict.js';

// shared/ sits beside the repository (also in CI's fresh clone); jest runs from the repo root.
const DIR = process.env.SIPHON_SHARED_DIR ? `${process.env.SIPHON_SHARED_DIR}/rfc4475` : resolve(process.cwd(), '../shared/rfc4475');
const load = (name: string): Buffer => readFileSync(`${DIR}/${name}.sip`);

type Expect = 'accept' | 'drop' | [number, RegExp];

// Section numbers are RFC 4475's. "accept" for §3.1.4 means well-formed at the message-stack level;
// the application decisions the RFC describes (420, 415, 401, 483, 406, ...) belong to the UAS/proxy.
const TABLE: Record<string, [string, Expect]> = {
  wsinv: ['3.1.1.1 short tortuous INVITE', 'accept'],
  intmeth: ['3.1.1.2 wide range of valid characters', 'accept'],
  esc01: ['3.1.1.3 valid use of % escaping', 'accept'],
  escnull: ['3.1.1.4 escaped nulls in URIs', 'accept'],
  esc02: ['3.1.1.5 use of % when it is not an escape', 'accept'],
  lwsdisp: ['3.1.1.6 message with no LWS between display name and <', 'accept'],
  longreq: ['3.1.1.7 long values in header fields', 'accept'],
  dblreq: ['3.1.1.8 extra trailing octets in a UDP datagram', 'accept'],
  semiuri: ['3.1.1.9 semicolon-separated parameters in URI user part', 'accept'],
  transports: ['3.1.1.10 varied and unknown transport types', 'accept'],
  mpart01: ['3.1.1.11 multipart MIME message', 'accept'],
  unreason: ['3.1.1.12 unusual reason phrase', 'accept'],
  noreason: ['3.1.1.13 empty reason phrase', 'accept'],
  badinv01: ['3.1.2.1 extraneous header field separators', [400, /Empty Via value/]],
  clerr: ['3.1.2.2 Content-Length larger than message', [400, /Content-Length/]],
  ncl: ['3.1.2.3 negative Content-Length', [400, /Content-Length/]],
  scalar02: ['3.1.2.4 request scalar fields with overlarge values', [400, /out of range/]],
  scalarlg: ['3.1.2.5 response scalar fields with overlarge values', 'drop'],
  quotbal: ['3.1.2.6 unterminated quoted string in display name', [400, /To: Unterminated quoted string/]],
  ltgtruri: ['3.1.2.7 <> enclosing Request-URI', [400, /Request-URI/]],
  lwsruri: ['3.1.2.8 malformed SIP Request-URI (embedded LWS)', [400, /Request-Line/]],
  lwsstart: ['3.1.2.9 multiple SP separating Request-Line elements', [400, /Request-Line/]],
  trws: ['3.1.2.10 SP characters at end of Request-Line', [400, /Request-Line/]],
  escruri: ['3.1.2.11 escaped headers in SIP Request-URI', [400, /Headers in Request-URI/]],
  baddate: ['3.1.2.12 invalid time zone in Date header field', [400, /Date/]],
  regbadct: ['3.1.2.13 failure to enclose name-addr URI in <>', [400, /enclosed in <>/]],
  badaspec: ['3.1.2.14 spaces within addr-spec', [400, /URI/]],
  baddn: ['3.1.2.15 non-token characters in display name', [400, /display name/]],
  badvers: ['3.1.2.16 unknown protocol version', [505, /Version Not Supported/]],
  mismatch01: ['3.1.2.17 start line and CSeq method mismatch', [400, /CSeq method/]],
  mismatch02: ['3.1.2.18 unknown method with CSeq method mismatch', [400, /CSeq method/]],
  bigcode: ['3.1.2.19 overlarge response code', 'drop'],
  badbranch: ['3.1.3.1 missing transaction identifier (RFC 2543 matching)', 'accept'],
  insuf: ['3.1.4.1 missing required header fields', [400, /Missing (From|To|Call-ID)/]],
  unkscm: ['3.1.4.2 Request-URI with unknown scheme', [416, /Unsupported URI Scheme/]],
  novelsc: ['3.1.4.3 Request-URI with known but atypical scheme', [416, /Unsupported URI Scheme/]],
  unksm2: ['3.1.4.4 unknown URI schemes in header fields', 'accept'],
  bext01: ['3.1.4.5 Proxy-Require and Require (UAS answers 420)', 'accept'],
  invut: ['3.1.4.6 unknown Content-Type (UAS answers 415)', 'accept'],
  regaut01: ['3.1.4.7 unknown authorization scheme (registrar answers 401)', 'accept'],
  multi01: ['3.1.4.8 multiple values in single value required fields', [400, /Multiple/]],
  mcl01: ['3.1.4.9 multiple Content-Length values', [400, /Content-Length/]],
  bcast: ['3.1.4.10 200 OK with broadcast Via', 'accept'],
  zeromf: ['3.1.4.11 Max-Forwards of zero (proxy answers 483, UAS may answer OPTIONS)', 'accept'],
  cparam01: ['3.1.4.12 REGISTER with a Contact header parameter', 'accept'],
  cparam02: ['3.1.4.13 REGISTER with a url-parameter', 'accept'],
  regescrt: ['3.1.4.14 REGISTER with a URL escaped header', 'accept'],
  sdp01: ['3.1.4.15 unacceptable Accept offering (UAS answers 406)', 'accept'],
  inv2543: ['3.1.5.1 INVITE with RFC 2543 syntax', 'accept'],
};

describe('RFC 4475 torture messages', () => {
  it('the table names every message file in the corpus', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.sip')).map((f) => f.slice(0, -4)).sort();
    expect(files).toEqual(Object.keys(TABLE).sort());
    expect(files).toHaveLength(49);
  });

  for (const [name, [section, expected]] of Object.entries(TABLE)) {
    const label = Array.isArray(expected) ? `reject ${expected[0]}` : expected;
    it(`${name} (§${section}) → ${label}`, () => {
      const out = judge(load(name));
      if (expected === 'accept') expect(out).toEqual({ kind: 'accept' });
      else if (expected === 'drop') expect(out.kind).toBe('drop');
      else {
        expect(out.kind).toBe('reject');
        if (out.kind !== 'reject') return;
        expect(out.status).toBe(expected[0]);
        expect(out.reason).toMatch(expected[1]);
      }
    });
  }
});

function model(m: SipRequest | SipResponse): unknown {
  return {
    start: m.isRequest ? [m.method, m.uri, m.version] : [m.status, m.reason, m.version],
    headers: [...m.headers].filter(([n]) => n !== 'Content-Length'),
    contentLength: m.body.length,
    body: m.body.toString('base64'),
  };
}

describe('RFC 4475 valid messages round-trip', () => {
  const valid = Object.entries(TABLE).filter(([, [, e]]) => e === 'accept').map(([n]) => n);
  for (const name of valid) {
    it(`${name}: parse → serialize → parse gives the same model`, () => {
      const a = parseMessage(load(name));
      const wire = serialize(a);
      const b = parseMessage(wire);
      expect(model(b)).toEqual(model(a));
      expect(b.headers.get('Content-Length')).toBe(String(a.body.length));
      // a second serialization is byte-identical (fixpoint)
      expect(serialize(b).equals(wire)).toBe(true);
    });
  }

  it('unknown headers and folded values are written back byte-exact', () => {
    const src = load('wsinv');
    const wire = serialize(parseMessage(src)).toString('latin1');
    expect(wire).toContain('NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n');
    expect(wire).toContain('UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n');
  });

  it('an untouched message is serialized to its original bytes', () => {
    for (const name of ['esc01', 'mpart01', 'unreason', 'transports']) {
      const src = load(name);
      expect(serialize(parseMessage(src)).equals(src)).toBe(true);
    }
  });

  it('multipart bodies pass through unchanged, embedded binary included', () => {
    const m = parseMessage(load('mpart01'));
    expect(m.body.length).toBe(553);
    expect(serialize(m).subarray(-553).equals(m.body)).toBe(true);
  });

  it('dblreq: the octets after Content-Length in a datagram are discarded (RFC 3261 §18.3)', () => {
    const m = parseMessage(load('dblreq'));
    expect(m.body.length).toBe(Number(m.headers.get('Content-Length')));
  });
});
