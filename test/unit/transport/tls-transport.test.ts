// SIP over TLS on real loopback sockets: the stream transport with `tls` set, against Node TLS
// clients and against another TLS transport, with a throwaway PKI (test/helpers/tls-certs.ts).
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { TcpTransport, type InboundHandler, type StreamTls, type TransportCounters } from '../../../node/transport/index.js';
import type { NameQuery, SipTarget } from '../../../node/dns/index.js';
import { tlsClient } from '../../helpers/sip-client.js';
import { testPki } from '../../helpers/tls-certs.js';
import { inbox } from './inbox.js';
import { settles as eventually } from '../../helpers/eventually.js';
import { tcpTestOptions } from './tcp-test-options.js';

const pki = testPki();

const SIP = (via = 'SIP/2.0/TLS h;branch=z9hG4bK1') => `OPTIONS sip:a@b SIP/2.0\r\nVia: ${via}\r\nContent-Length: 0\r\n\r\n`;

function serverTls(over: Partial<StreamTls['server']> = {}): StreamTls {
  return {
    server: { cert: pki.serverCert, key: pki.serverKey, minVersion: 'TLSv1.2', ...over },
    client: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    handshakeTimeoutMs: 300,
  };
}

function countingCounters(): TransportCounters & { handshakes: string[]; connected: number } {
  const c = {
    handshakes: [] as string[],
    connected: 0,
    malformed: () => undefined,
    shed: () => undefined,
    connections: (_t: string, d: number) => {
      c.connected += d;
    },
    handshakeFailed: (_t: string, direction: string) => {
      c.handshakes.push(direction);
    },
  };
  return c;
}

/** A resolver that answers every name with 127.0.0.1 at the asked port. */
const loopbackResolver = {
  lookup: (q: NameQuery, done: (targets: readonly SipTarget[], reason: string) => void) => done([{ address: '127.0.0.1', port: q.port }], ''),
};

const started: TcpTransport[] = [];
async function start(tls: StreamTls, handler: InboundHandler = inbox(), counters: TransportCounters = countingCounters()): Promise<TcpTransport> {
  const t = new TcpTransport({ ...tcpTestOptions(), tls, resolver: loopbackResolver }, handler, counters);
  await t.start();
  started.push(t);
  return t;
}

afterEach(async () => {
  for (const t of started.splice(0)) await t.stop();
});

describe('TLS listener', () => {
  it('delivers SIP from a TLS client as transport tls and answers on the same connection', async () => {
    const h = inbox();
    const t = await start(serverTls(), h);
    expect(t.listener.transport).toBe('tls');
    const client = await tlsClient(t.listener.port, { ca: pki.ca, servername: 'localhost' });
    client.send(SIP());
    await eventually(() => expect(h.got).toHaveLength(1));
    const { source } = h.got[0];
    expect(source.transport).toBe('tls');
    expect(source.connectionId).not.toBeNull();
    expect(t.sendOnConnection(source.connectionId!, Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'))).toBe(true);
    expect(await client.next()).toMatch(/^SIP\/2\.0 200 OK/);
    client.close();
  });

  it('with mTLS refuses a client without a certificate (counted) and accepts one signed by client_ca', async () => {
    const h = inbox();
    const counters = countingCounters();
    const t = await start(serverTls({ requestCert: true, rejectUnauthorized: true, ca: pki.ca }), h, counters);
    // TLS 1.3 reports the refusal after the client's handshake completes: the client sees its
    // connection closed and nothing it sent reaches SIP.
    const anonymous = await tlsClient(t.listener.port, { ca: pki.ca, servername: 'localhost' }).catch(() => null);
    anonymous?.send(SIP());
    await eventually(() => expect(counters.handshakes).toEqual(['inbound']));
    const trusted = await tlsClient(t.listener.port, { ca: pki.ca, servername: 'localhost', cert: pki.clientCert, key: pki.clientKey });
    trusted.send(SIP());
    await eventually(() => expect(h.got).toHaveLength(1));
    anonymous?.close();
    trusted.close();
  });

  it('closes a connection that never completes its handshake, and one that speaks plain SIP', async () => {
    const h = inbox();
    const counters = countingCounters();
    const t = await start(serverTls(), h, counters);
    const silent = netConnect({ host: '127.0.0.1', port: t.listener.port });
    const plain = netConnect({ host: '127.0.0.1', port: t.listener.port }, () => plain.write(SIP('SIP/2.0/TCP h;branch=z9hG4bK2')));
    const closed = (s: typeof silent): Promise<void> => new Promise((resolve) => s.once('close', () => resolve()));
    silent.on('error', () => undefined);
    plain.on('error', () => undefined);
    await Promise.all([closed(silent), closed(plain)]);
    expect(counters.handshakes).toEqual(['inbound', 'inbound']);
    expect(h.got).toHaveLength(0);
  });

  it('with method TLSv1_3 refuses a TLS 1.2-only client', async () => {
    const counters = countingCounters();
    const t = await start({ ...serverTls({ minVersion: 'TLSv1.3' }) }, inbox(), counters);
    await expect(tlsClient(t.listener.port, { ca: pki.ca, servername: 'localhost', maxVersion: 'TLSv1.2' })).rejects.toThrow();
    await eventually(() => expect(counters.handshakes).toEqual(['inbound']));
  });
});

describe('outbound TLS', () => {
  it('connects to a peer whose certificate the CA signed and carries SIP both ways', async () => {
    const h = inbox();
    const b = await start(serverTls(), h);
    const a = await start(serverTls());
    const failed: string[] = [];
    expect(a.send(Buffer.from(SIP()), { address: '127.0.0.1', port: b.listener.port }, () => failed.push('x'))).toBe(true);
    await eventually(() => expect(h.got).toHaveLength(1));
    expect(h.got[0].source.transport).toBe('tls');
    expect(failed).toEqual([]);
  });

  it('checks the certificate against the name asked for (RFC 5922), not the address it resolved to', async () => {
    const h = inbox();
    const b = await start(serverTls(), h);
    const counters = countingCounters();
    const a = await start(serverTls(), inbox(), counters);
    a.send(Buffer.from(SIP()), { address: 'sip.test', port: b.listener.port });
    await eventually(() => expect(h.got).toHaveLength(1));
    const failures: string[] = [];
    a.send(Buffer.from(SIP()), { address: 'other.test', port: b.listener.port }, () => failures.push('other.test'));
    await eventually(() => expect(failures).toEqual(['other.test']));
    expect(counters.handshakes).toEqual(['outbound']);
    expect(h.got).toHaveLength(1);
  });

  it('refuses a peer whose certificate no trusted CA signed: the sender hears of it', async () => {
    const rogue = await start({ ...serverTls(), server: { cert: pki.rogueCert, key: pki.rogueKey, minVersion: 'TLSv1.2' } });
    const counters = countingCounters();
    const a = await start(serverTls(), inbox(), counters);
    const failures: number[] = [];
    a.send(Buffer.from(SIP()), { address: '127.0.0.1', port: rogue.listener.port }, () => failures.push(1));
    await eventually(() => expect(failures).toEqual([1]));
    expect(counters.handshakes).toEqual(['outbound']);
  });

  it('with verify_server off (rejectUnauthorized false) talks to that peer anyway', async () => {
    const h = inbox();
    const rogue = await start({ ...serverTls(), server: { cert: pki.rogueCert, key: pki.rogueKey, minVersion: 'TLSv1.2' } }, h);
    const lax = await start({ ...serverTls(), client: { rejectUnauthorized: false, minVersion: 'TLSv1.2' } });
    lax.send(Buffer.from(SIP()), { address: '127.0.0.1', port: rogue.listener.port });
    await eventually(() => expect(h.got).toHaveLength(1));
  });

  it('presents our certificate to a peer that requires one (mTLS between proxies)', async () => {
    const h = inbox();
    const b = await start(serverTls({ requestCert: true, rejectUnauthorized: true, ca: pki.ca }), h);
    const a = await start(serverTls());
    a.send(Buffer.from(SIP()), { address: '127.0.0.1', port: b.listener.port });
    await eventually(() => expect(h.got).toHaveLength(1));
  });
});

describe('RFC 5923 aliases', () => {
  /** b (mTLS listener) receives a message from a over a connection a opened; resolves b's connection id. */
  async function offered(aTls: StreamTls, bTls: StreamTls): Promise<{ a: TcpTransport; b: TcpTransport; aInbox: ReturnType<typeof inbox>; id: number }> {
    const bInbox = inbox();
    const aInbox = inbox();
    const b = await start(bTls, bInbox);
    const a = await start(aTls, aInbox);
    a.send(Buffer.from(SIP('SIP/2.0/TLS sip.test:5999;branch=z9hG4bKal;alias')), { address: '127.0.0.1', port: b.listener.port });
    await eventually(() => expect(bInbox.got).toHaveLength(1));
    return { a, b, aInbox, id: bInbox.got[0].source.connectionId as number };
  }
  const mtls = (): StreamTls => serverTls({ requestCert: true, rejectUnauthorized: true, ca: pki.ca });

  it('a peer whose verified certificate names the sent-by gets requests for it over its own connection, until it closes', async () => {
    const { a, b, aInbox, id } = await offered(serverTls(), mtls());
    expect(b.aliasConnection(id, 'SIP.test', 5999)).toBe(true);
    expect(b.hasAlias({ address: 'sip.test', port: 5999 })).toBe(true);
    // Nobody listens at sip.test:5999 (the resolver says 127.0.0.1:5999): only the alias reaches a.
    expect(b.send(Buffer.from(SIP()), { address: 'sip.test', port: 5999 })).toBe(true);
    await eventually(() => expect(aInbox.got).toHaveLength(1));
    expect(aInbox.got[0].source.connectionId).not.toBeNull();
    // Left to SRV, a destination is not the alias's (its targets may be other hosts).
    expect(b.hasAlias({ address: 'sip.test', port: 5999, srv: true })).toBe(false);
    await a.stop();
    await eventually(() => expect(b.hasAlias({ address: 'sip.test', port: 5999 })).toBe(false));
  });

  it('refuses a name the certificate does not carry, a peer that presented no verified certificate, an outbound connection and plain TCP', async () => {
    const verified = await offered(serverTls(), mtls());
    expect(verified.b.aliasConnection(verified.id, 'other.test', 5999)).toBe(false);
    expect(verified.b.hasAlias({ address: 'other.test', port: 5999 })).toBe(false);
    // No mTLS on b: a's certificate was never asked for.
    const anonymous = await offered(serverTls(), serverTls());
    expect(anonymous.b.aliasConnection(anonymous.id, 'sip.test', 5999)).toBe(false);
    // a's own outbound connection is not an inbound offer.
    const out = verified.a.connections().find((c) => c.outbound);
    expect(out).toBeDefined();
    expect(verified.a.aliasConnection(out?.id ?? -1, 'sip.test', verified.b.listener.port)).toBe(false);
    const plain = new TcpTransport({ ...tcpTestOptions(), resolver: loopbackResolver }, inbox(), countingCounters());
    await plain.start();
    started.push(plain);
    expect(plain.aliasConnection(1, 'sip.test', 5999)).toBe(false);
  });
});
