import {
  computeHa1,
  computeResponse,
  DigestAuthenticator,
  NonceService,
  StaticCredentialBackend,
  authUserMatchesUri,
  parseAuthParams,
  CredentialBackendError,
  type AuthOutcome,
  type ChallengeResponse,
  type DigestAlgorithm,
} from '../../../node/auth/index.js';

const REALM = 'example.com';
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

function makeAuth(
  opts: { secret?: string | null; ttl?: number; algorithms?: DigestAlgorithm[]; authInt?: boolean; replayWindow?: number } = {},
): DigestAuthenticator {
  const backend = new StaticCredentialBackend(
    [
      { username: 'alice', password: 'wonderland', ha1: null, realm: null },
      { username: 'bob', password: null, ha1: computeHa1('MD5', 'bob', REALM, 'builder'), realm: null },
    ],
    REALM,
  );
  return new DigestAuthenticator({
    realm: REALM,
    algorithms: opts.algorithms ?? ['MD5', 'SHA-256'],
    nonces: new NonceService({ secret: opts.secret === undefined ? 'cluster-secret' : opts.secret, ttlSecs: opts.ttl ?? 3600 }),
    backend,
    offerAuthInt: opts.authInt,
    replayWindow: opts.replayWindow,
  });
}

/** What a UA does with a challenge: pick the param set for `alg` and answer it. */
function answer(
  challenge: ChallengeResponse,
  user: string,
  password: string,
  opts: { alg?: DigestAlgorithm; method?: string; uri?: string; qop?: 'auth' | 'auth-int'; body?: string; nc?: string } = {},
): string {
  const alg = opts.alg ?? 'MD5';
  const hdr = challenge.headers.find(([, v]) => v.includes(`algorithm=${alg}`));
  if (hdr === undefined) throw new Error(`no ${alg} challenge`);
  const nonce = parseAuthParams(hdr[1]).params.get('nonce') ?? '';
  const uri = opts.uri ?? 'sip:example.com';
  const qop = opts.qop ?? 'auth';
  const response = computeResponse({
    algorithm: alg,
    ha1: computeHa1(alg, user, REALM, password),
    nonce,
    method: opts.method ?? 'REGISTER',
    uri,
    qop,
    nc: opts.nc ?? '00000001',
    cnonce: 'c0ffee',
    body: opts.body,
  });
  return `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="${uri}", algorithm=${alg}, qop=${qop}, nc=${opts.nc ?? '00000001'}, cnonce="c0ffee", response="${response}"`;
}

function expectChallenge(o: AuthOutcome, cause: string, stale = false): ChallengeResponse {
  expect(o.kind).toBe('challenge');
  if (o.kind !== 'challenge') throw new Error('unreachable');
  expect(o.cause).toBe(cause);
  expect(o.response.headers.every(([, v]) => v.includes('stale=true') === stale)).toBe(true);
  return o.response;
}

describe('challenges', () => {
  test('REGISTER gets 401 WWW-Authenticate, SHA-256 offered before MD5', () => {
    const c = makeAuth().challenge('www', T0);
    expect(c.status).toBe(401);
    expect(c.headers.map(([n]) => n)).toEqual(['WWW-Authenticate', 'WWW-Authenticate']);
    expect(c.headers[0][1]).toMatch(/^Digest realm="example.com", nonce="[0-9a-f]{16}\.[0-9a-f]{48}", algorithm=SHA-256, qop="auth"$/);
    expect(c.headers[1][1]).toContain('algorithm=MD5');
  });

  test('INVITE (proxy) gets 407 Proxy-Authenticate', () => {
    const c = makeAuth().challenge('proxy', T0);
    expect(c.status).toBe(407);
    expect(c.reason).toBe('Proxy Authentication Required');
    expect(c.headers[0][0]).toBe('Proxy-Authenticate');
  });

  test('no credentials → challenge', async () => {
    expectChallenge(await makeAuth().verify('www', { method: 'REGISTER', credentials: [] }, T0), 'no-credentials');
  });
});

describe('verification trace', () => {
  test('challenge → correct MD5 answer → ok', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    const o = await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0 + 1000);
    expect(o).toEqual({ kind: 'ok', username: 'alice', realm: REALM, algorithm: 'MD5' });
  });

  test('SHA-256 answer → ok', async () => {
    const auth = makeAuth();
    const c = auth.challenge('proxy', T0);
    const cred = answer(c, 'alice', 'wonderland', { alg: 'SHA-256', method: 'INVITE', uri: 'sip:bob@example.com' });
    const o = await auth.verify('proxy', { method: 'INVITE', credentials: [cred] }, T0);
    expect(o).toMatchObject({ kind: 'ok', algorithm: 'SHA-256' });
  });

  test('precomputed HA1 user authenticates; its MD5 HA1 cannot serve SHA-256', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'bob', 'builder')] }, T0)).toMatchObject({ kind: 'ok' });
    const sha = answer(c, 'bob', 'builder', { alg: 'SHA-256' });
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [sha] }, T0), 'unknown-user');
  });

  test('wrong password → fresh challenge, not stale', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'nope')] }, T0), 'wrong-password');
  });

  test('unknown user → challenge', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'mallory', 'x')] }, T0), 'unknown-user');
  });

  test('method is bound into the response (a REGISTER answer does not authorize an INVITE)', async () => {
    const auth = makeAuth();
    const c = auth.challenge('proxy', T0);
    const cred = answer(c, 'alice', 'wonderland', { method: 'REGISTER' });
    expectChallenge(await auth.verify('proxy', { method: 'INVITE', credentials: [cred] }, T0), 'wrong-password');
  });

  test('nonce older than nonce_ttl_secs with the right password → stale=true challenge', async () => {
    const auth = makeAuth({ ttl: 300 });
    const c = auth.challenge('www', T0);
    const cred = answer(c, 'alice', 'wonderland');
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland', { nc: '00000002' })] }, T0 + 300_000)).toMatchObject({ kind: 'ok' });
    const stale = expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [cred] }, T0 + 301_000), 'stale-nonce', true);
    expect(stale.status).toBe(401);
  });

  test('stale nonce with a wrong password is not told stale', async () => {
    const auth = makeAuth({ ttl: 10 });
    const c = auth.challenge('www', T0);
    expectChallenge(
      await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'bad')] }, T0 + 60_000),
      'wrong-password',
    );
  });

  test('nonce issued by another node with the same secret verifies', async () => {
    const nodeA = makeAuth({ secret: 'shared' });
    const nodeB = makeAuth({ secret: 'shared' });
    const c = nodeA.challenge('www', T0);
    expect(await nodeB.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0)).toMatchObject({ kind: 'ok' });
  });

  test('nonce from a node with a different secret is rejected', async () => {
    const foreign = makeAuth({ secret: 'other' }).challenge('www', T0);
    expectChallenge(
      await makeAuth({ secret: 'shared' }).verify('www', { method: 'REGISTER', credentials: [answer(foreign, 'alice', 'wonderland')] }, T0),
      'bad-nonce',
    );
  });

  test('forged nonces (altered timestamp, altered mac, foreign format) are rejected', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    const nonce = parseAuthParams(c.headers[0][1]).params.get('nonce') ?? '';
    const younger = (parseInt(nonce.slice(0, 16), 16) + 100).toString(16).padStart(16, '0') + nonce.slice(16);
    const flippedMac = nonce.slice(0, -1) + (nonce.endsWith('0') ? '1' : '0');
    for (const forged of [younger, flippedMac, 'dcd98b7102dd2f0e8b11d0f600bfb0c093', '']) {
      const rewritten = answer(c, 'alice', 'wonderland').replace(nonce, forged);
      const o = await auth.verify('www', { method: 'REGISTER', credentials: [rewritten] }, T0);
      expect(o.kind === 'challenge' ? o.cause : o.kind).toBe('bad-nonce');
    }
  });

  test('a nonce stamped in the future is rejected', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0 + 3_600_000);
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0), 'bad-nonce');
  });

  test('null nonce_secret: per-process key, nonces of another process do not verify', async () => {
    const a = makeAuth({ secret: null });
    const b = makeAuth({ secret: null });
    const c = a.challenge('www', T0);
    expect(await a.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0)).toMatchObject({ kind: 'ok' });
    expectChallenge(await b.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0), 'bad-nonce');
  });

  test('qop=auth-int binds the body when offered', async () => {
    const auth = makeAuth({ authInt: true });
    const c = auth.challenge('proxy', T0);
    expect(c.headers[0][1]).toContain('qop="auth,auth-int"');
    const cred = answer(c, 'alice', 'wonderland', { method: 'INVITE', qop: 'auth-int', body: 'v=0\r\n' });
    expect(await auth.verify('proxy', { method: 'INVITE', credentials: [cred], body: 'v=0\r\n' }, T0)).toMatchObject({ kind: 'ok' });
    expectChallenge(await auth.verify('proxy', { method: 'INVITE', credentials: [cred], body: 'v=1\r\n' }, T0), 'wrong-password');
  });

  test('qop=auth-int not offered → challenge', async () => {
    const auth = makeAuth();
    const c = auth.challenge('proxy', T0);
    const cred = answer(c, 'alice', 'wonderland', { method: 'INVITE', qop: 'auth-int' });
    expectChallenge(await auth.verify('proxy', { method: 'INVITE', credentials: [cred] }, T0), 'unsupported');
  });

  test('algorithm not configured → challenge', async () => {
    const auth = makeAuth({ algorithms: ['SHA-256'] });
    const c = makeAuth().challenge('www', T0);
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0), 'unsupported');
  });

  test('credentials for another realm are ignored; ours among several is picked', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    const other = 'Digest username="alice", realm="elsewhere", nonce="x", uri="sip:e", response="00"';
    expect(
      await auth.verify('www', { method: 'REGISTER', credentials: [other, answer(c, 'alice', 'wonderland')] }, T0),
    ).toMatchObject({ kind: 'ok' });
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [other] }, T0), 'no-credentials');
  });

  test.each([
    ['unterminated quote', 'Digest username="alice, realm="example.com"'],
    ['missing nonce', 'Digest username="alice", realm="example.com", uri="sip:e", response="00"'],
    ['qop without cnonce', 'Digest username="alice", realm="example.com", nonce="n", uri="sip:e", response="00", qop=auth, nc=00000001'],
  ])('malformed credentials (%s) → 400, no crash', async (_n, cred) => {
    const o = await makeAuth().verify('www', { method: 'REGISTER', credentials: [cred] }, T0);
    expect(o).toMatchObject({ kind: 'bad-request', status: 400 });
  });

  test('credential store outage → 503', async () => {
    const auth = new DigestAuthenticator({
      realm: REALM,
      algorithms: ['MD5'],
      nonces: new NonceService({ secret: 's', ttlSecs: 60 }),
      backend: {
        lookupHa1: async () => {
          throw new CredentialBackendError('down');
        },
      },
    });
    const c = auth.challenge('www', T0);
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0)).toMatchObject({
      kind: 'unavailable',
      status: 503,
    });
  });
});

describe('nonce-count replay (RFC 7616 §3.4)', () => {
  test('the same nc on the same nonce is refused; a higher nc is accepted', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    const first = answer(c, 'alice', 'wonderland', { nc: '00000001' });
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [first] }, T0)).toMatchObject({ kind: 'ok' });
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [first] }, T0), 'replayed-nc');
    const second = answer(c, 'alice', 'wonderland', { nc: '00000002' });
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [second] }, T0)).toMatchObject({ kind: 'ok' });
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [first] }, T0), 'replayed-nc');
  });

  test('a wrong password does not consume the nc', async () => {
    const auth = makeAuth();
    const c = auth.challenge('www', T0);
    await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'bad')] }, T0);
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [answer(c, 'alice', 'wonderland')] }, T0)).toMatchObject({ kind: 'ok' });
  });

  test('replayWindow 0 disables tracking', async () => {
    const auth = makeAuth({ replayWindow: 0 });
    const c = auth.challenge('www', T0);
    const cred = answer(c, 'alice', 'wonderland');
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [cred] }, T0)).toMatchObject({ kind: 'ok' });
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [cred] }, T0)).toMatchObject({ kind: 'ok' });
  });

  test('the window is bounded: the oldest nonce is forgotten first', async () => {
    const auth = makeAuth({ replayWindow: 2 });
    const creds = [0, 1, 2].map(() => answer(auth.challenge('www', T0), 'alice', 'wonderland'));
    for (const c of creds) expect(await auth.verify('www', { method: 'REGISTER', credentials: [c] }, T0)).toMatchObject({ kind: 'ok' });
    expect(await auth.verify('www', { method: 'REGISTER', credentials: [creds[0]] }, T0)).toMatchObject({ kind: 'ok' });
    expectChallenge(await auth.verify('www', { method: 'REGISTER', credentials: [creds[2]] }, T0), 'replayed-nc');
  });
});

describe('anti-spoofing', () => {
  test.each([
    ['alice', '"Alice" <sip:alice@example.com>;tag=1', true],
    ['alice', 'sip:alice@example.com', true],
    ['alice', '<sips:alice:secret@example.com;transport=tls>', true],
    ['alice', 'sip:%61lice@example.com', true],
    ['alice', '<sip:mallory@example.com>', false],
    ['alice', '<sip:Alice@example.com>', false],
    ['alice', '<sip:example.com>', false],
    ['alice', '<tel:+15551234>', false],
    ['alice', '"Mallory <sip:alice@example.com>" <sip:mallory@example.com>', false],
    ['alice', '"Quote \\" <sip:x@y>" <sip:alice@example.com>;tag=9', true],
    ['+1555;ext=1', '<sip:+1555;ext=1@example.com;user=phone>', true],
    ['alice', 'sip:alice@example.com;tag=1', true],
  ])('auth user %s vs From %s → %s', (user, from, ok) => {
    expect(authUserMatchesUri(user, from)).toBe(ok);
  });
});
