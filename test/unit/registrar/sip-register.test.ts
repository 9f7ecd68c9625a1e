import { parseMessage, serialize, SipRequest } from '../../../node/sip/index.js';
import {
  computeHa1,
  computeResponse,
  createAuthenticator,
  authenticateRequest,
  authFailureResponse,
  parseAuthParams,
  mayChallenge,
} from '../../../node/auth/index.js';
import {
  DEFAULT_REGISTRAR_SETTINGS,
  MemoryBindingStore,
  Registrar,
  handleRegister,
  registerRequestFrom,
  registerResponse,
  startExpirySweep,
} from '../../../node/registrar/index.js';
import { req, setup, T0 } from './register-helpers.js';

function register(extra: string[], cseq = 1): SipRequest {
  const lines = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: Alice <sip:alice@example.com>',
    'From: Alice <sip:alice@example.com>;tag=456248',
    'Call-ID: 843817637684230@998sdasdh09',
    `CSeq: ${cseq} REGISTER`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ];
  const m = parseMessage(Buffer.from(lines.join('\r\n')));
  if (!(m instanceof SipRequest)) throw new Error('not a request');
  return m;
}

const source = { transport: 'udp', address: '192.0.2.10', port: 5060, connectionId: null, localAddress: null };

test('wire REGISTER → decision → wire 200 OK with Contact, Path, Date', async () => {
  const { registrar } = setup({ serviceRoute: ['<sip:orig@registrar.example.com;lr>'] });
  const req = register([
    'Contact: <sip:alice@192.0.2.10:5060>;expires=600, <sip:alice@198.51.100.1>;q=0.5',
    'Path: <sip:edge.example.com;lr>',
    'Supported: path',
  ]);
  const ex = registerRequestFrom(req, source);
  if (!ex.ok) throw new Error(ex.reason);
  const decision = await registrar.register(ex.request, T0, null);
  const text = serialize(registerResponse(req, decision, 'regtag')).toString();
  expect(text.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);
  expect(text).toContain('Contact: <sip:alice@192.0.2.10:5060>;expires=600\r\n');
  expect(text).toContain('Contact: <sip:alice@198.51.100.1>;q=0.5;expires=3600\r\n');
  expect(text).toContain('Path: <sip:edge.example.com;lr>\r\n');
  expect(text).toContain('Service-Route: <sip:orig@registrar.example.com;lr>\r\n');
  expect(text).toContain('Date: Thu, 26 Nov 2026 12:00:00 GMT\r\n');
  expect(text).toMatch(/To: "?Alice"? <sip:alice@example.com>;tag=regtag/);
});

test('423 on the wire carries Min-Expires', async () => {
  const { registrar } = setup({ minExpires: 60 });
  const req = register(['Contact: <sip:alice@192.0.2.10>', 'Expires: 10']);
  const ex = registerRequestFrom(req, source);
  if (!ex.ok) throw new Error(ex.reason);
  const text = serialize(registerResponse(req, await registrar.register(ex.request, T0, null))).toString();
  expect(text.startsWith('SIP/2.0 423 Interval Too Brief\r\n')).toBe(true);
  expect(text).toContain('Min-Expires: 60\r\n');
});

test('malformed CSeq is reported as not ok (→ 400) instead of throwing', () => {
  const lines = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx',
    'To: <sip:alice@example.com>',
    'From: <sip:alice@example.com>;tag=1',
    'Call-ID: abc',
    'CSeq: 99999999999 REGISTER',
    'Content-Length: 0',
    '',
    '',
  ];
  let m: unknown;
  try {
    m = parseMessage(Buffer.from(lines.join('\r\n')));
  } catch {
    return; // the SIP parser may already reject it; either way no crash
  }
  expect(registerRequestFrom(m as SipRequest, null).ok).toBe(false);
});

test('401 challenge, then authenticated REGISTER over the wire', async () => {
  const auth = createAuthenticator({
    backend: 'static',
    realm: 'example.com',
    algorithms: ['SHA-256', 'MD5'],
    nonce_secret: 'k',
    nonce_ttl_secs: 300,
    users: [{ username: 'alice', password: 'wonderland', ha1: null, realm: null }],
    http: { url: null, cache_ttl_secs: 0, timeout_ms: 1000 },
  });
  const first = register(['Contact: <sip:alice@192.0.2.10>']);
  const outcome = await authenticateRequest(auth, first, T0);
  const challenge = authFailureResponse(first, outcome, 't1');
  expect(challenge?.status).toBe(401);
  const www = challenge?.headers.getLines('WWW-Authenticate') ?? [];
  expect(www).toHaveLength(2);
  expect(www[0]).toContain('algorithm=SHA-256');

  const nonce = parseAuthParams(www[0]).params.get('nonce') ?? '';
  const response = computeResponse({
    algorithm: 'SHA-256',
    ha1: computeHa1('SHA-256', 'alice', 'example.com', 'wonderland'),
    nonce,
    method: 'REGISTER',
    uri: 'sip:example.com',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'abc',
  });
  const second = register(
    [
      'Contact: <sip:alice@192.0.2.10>',
      `Authorization: Digest username="alice", realm="example.com", nonce="${nonce}", uri="sip:example.com", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="abc", response="${response}"`,
    ],
    2,
  );
  const ok = await authenticateRequest(auth, second, T0 + 1000);
  expect(ok).toMatchObject({ kind: 'ok', username: 'alice' });
  expect(authFailureResponse(second, ok)).toBeNull();

  const { registrar } = setup({ enforceAuthAorMatch: true });
  const ex = registerRequestFrom(second, source);
  if (!ex.ok || ok.kind !== 'ok') throw new Error('unreachable');
  expect((await registrar.register(ex.request, T0, ok.username)).status).toBe(200);
});

test('INVITE gets 407 Proxy-Authenticate; garbage Proxy-Authorization → 400', async () => {
  const auth = createAuthenticator({
    backend: 'static',
    realm: 'example.com',
    algorithms: ['MD5'],
    nonce_secret: null,
    nonce_ttl_secs: 300,
    users: [],
    http: { url: null, cache_ttl_secs: 0, timeout_ms: 1000 },
  });
  const invite = (extra: string[]): SipRequest => {
    const m = parseMessage(
      Buffer.from(
        [
          'INVITE sip:bob@example.com SIP/2.0',
          'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv',
          'Max-Forwards: 70',
          'To: <sip:bob@example.com>',
          'From: <sip:alice@example.com>;tag=1',
          'Call-ID: inv1',
          'CSeq: 1 INVITE',
          ...extra,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      ),
    );
    return m as SipRequest;
  };
  const plain = invite([]);
  const r = authFailureResponse(plain, await authenticateRequest(auth, plain, T0));
  expect(r?.status).toBe(407);
  expect(r?.headers.getLines('Proxy-Authenticate')[0]).toContain('algorithm=MD5');
  const bad = invite(['Proxy-Authorization: Digest username="alice, realm="example.com"']);
  expect(authFailureResponse(bad, await authenticateRequest(auth, bad, T0))?.status).toBe(400);
});

describe('handleRegister (extract → auth → registrar → response)', () => {
  const auth = createAuthenticator({
    backend: 'static',
    realm: 'example.com',
    algorithms: ['MD5'],
    nonce_secret: 'k',
    nonce_ttl_secs: 300,
    users: [
      { username: 'alice', password: 'wonderland', ha1: null, realm: null },
      { username: 'mallory', password: 'evil', ha1: null, realm: null },
    ],
    http: { url: null, cache_ttl_secs: 0, timeout_ms: 1000 },
  });
  const authorized = (user: string, password: string, nonce: string, extra: string[], cseq: number): SipRequest => {
    const cnonce = `cn-${user}`;
    const response = computeResponse({
      algorithm: 'MD5',
      ha1: computeHa1('MD5', user, 'example.com', password),
      nonce,
      method: 'REGISTER',
      uri: 'sip:example.com',
      qop: 'auth',
      nc: '00000001',
      cnonce,
    });
    return register(
      [
        ...extra,
        `Authorization: Digest username="${user}", realm="example.com", nonce="${nonce}", uri="sip:example.com", qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}"`,
      ],
      cseq,
    );
  };

  test('401, then 200 with the binding; a valid user spoofing the AoR with * gets 403 and clears nothing', async () => {
    const { registrar, store } = setup({ enforceAuthAorMatch: true });
    const first = await handleRegister(registrar, register(['Contact: <sip:alice@192.0.2.10>']), source, T0, { auth, toTag: 'a' });
    expect(first.response.status).toBe(401);
    expect(first.decision).toBeNull();
    const nonce = parseAuthParams(first.response.headers.getLines('WWW-Authenticate')[0]).params.get('nonce') ?? '';

    const second = await handleRegister(registrar, authorized('alice', 'wonderland', nonce, ['Contact: <sip:alice@192.0.2.10>'], 2), source, T0, { auth });
    expect(second.response.status).toBe(200);
    expect(store.count()).toBe(1);

    const spoof = await handleRegister(registrar, authorized('mallory', 'evil', nonce, ['Contact: *', 'Expires: 0'], 3), source, T0, { auth });
    expect(spoof.response.status).toBe(403);
    expect(store.count()).toBe(1);
  });

  test('open registrar (auth null) registers directly', async () => {
    const { registrar } = setup();
    const r = await handleRegister(registrar, register(['Contact: <sip:alice@192.0.2.10>']), source, T0, { auth: null });
    expect(r.response.status).toBe(200);
    expect(r.auth).toBeNull();
  });

  test('startExpirySweep expires bindings on its timer', async () => {
    const { registrar, events } = setup({ minExpires: 0 });
    await registrar.register(req({ contacts: ['<sip:a@192.0.2.1>;expires=1'] }), T0, null);
    const stop = startExpirySweep(registrar, 10, () => T0 + 5000);
    await new Promise((r) => setTimeout(r, 60));
    stop();
    expect(events.slice(-1)).toEqual(['expire sip:alice@example.com sip:a@192.0.2.1']);
  });
});

test('a failed binding commit answers 500 (§10.3 step 7) and leaves nothing behind', async () => {
  const store = new MemoryBindingStore();
  store.apply = async () => {
    throw new Error('log unavailable');
  };
  const registrar = new Registrar(store, DEFAULT_REGISTRAR_SETTINGS);
  const r = await handleRegister(registrar, register(['Contact: <sip:alice@192.0.2.10>']), source, T0, { auth: null });
  expect(r.response.status).toBe(500);
  expect(r.response.headers.get('Retry-After')).toBe('5');
  expect(store.count()).toBe(0);
});

test('ACK and CANCEL are never challenged (§22.1)', () => {
  expect(['INVITE', 'REGISTER', 'BYE', 'MESSAGE'].map(mayChallenge)).toEqual([true, true, true, true]);
  expect(['ACK', 'CANCEL'].map(mayChallenge)).toEqual([false, false]);
});
