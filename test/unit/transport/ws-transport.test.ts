// RFC 7118 SIP over WebSocket on real loopback sockets: the `ws` package as the client, the
// WsTransport as the listener (plain and over TLS with the test PKI).
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { WsTransport, type InboundHandler, type TransportCounters, type WsOptions } from '../../../node/transport/index.js';
import { settles as eventually, sleep } from '../../helpers/eventually.js';
import { testPki } from '../../helpers/tls-certs.js';
import { inbox } from './inbox.js';

const pki = testPki();
const SIP = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK1\r\n\r\n';


function counting(): TransportCounters & { refusals: number; keepAlives: number; connected: number } {
  const c = {
    refusals: 0,
    keepAlives: 0,
    connected: 0,
    malformed: () => undefined,
    shed: () => undefined,
    connections: (_t: string, d: number) => {
      c.connected += d;
    },
    refused: () => {
      c.refusals++;
    },
    keepAlive: () => {
      c.keepAlives++;
    },
  };
  return c;
}

const started: WsTransport[] = [];
async function start(over: Partial<WsOptions> = {}, handler: InboundHandler = inbox(), counters: TransportCounters = counting()): Promise<WsTransport> {
  const t = new WsTransport({ host: '127.0.0.1', port: 0, advertise: null, maxMessageSize: 4096, idleTimeoutMs: 30_000, maxWriteBufferBytes: 256 * 1024, ...over }, handler, counters);
  await t.start();
  started.push(t);
  return t;
}

const clients: WebSocket[] = [];
function open(url: string, protocols: string[] = ['sip'], opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, opts);
    clients.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function nextMessage(ws: WebSocket): Promise<{ text: string; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ text: data.toString(), binary: isBinary })));
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const t of started.splice(0)) await t.stop();
});

describe('SIP over WebSocket listener', () => {
  it('takes one SIP message per WebSocket message, as transport ws, and answers on the connection in a text frame', async () => {
    const h = inbox();
    const t = await start({}, h);
    expect(t.listener.transport).toBe('ws');
    const ws = await open(`ws://127.0.0.1:${t.listener.port}`);
    expect(ws.protocol).toBe('sip');
    ws.send(SIP); // no Content-Length: WebSocket frames the message (§5.2)
    await eventually(() => expect(h.got).toHaveLength(1));
    expect(h.got[0].bytes.toString()).toBe(SIP);
    expect(h.got[0].source).toMatchObject({ transport: 'ws', remote: { address: '127.0.0.1' } });
    const reply = nextMessage(ws);
    expect(t.sendOnConnection(h.got[0].source.connectionId!, Buffer.from('SIP/2.0 200 OK\r\n\r\n'))).toBe(true);
    expect(await reply).toEqual({ text: 'SIP/2.0 200 OK\r\n\r\n', binary: false });
    // A client is reachable by its address while the connection lasts, and by nothing else.
    expect(t.send(Buffer.from('x'), h.got[0].source.remote)).toBe(true);
    expect(t.send(Buffer.from('x'), { address: 'df7jal23ls0d.invalid', port: 5060 })).toBe(false);
  });

  it('refuses an upgrade without the "sip" subprotocol (400) and plain HTTP (426)', async () => {
    const counters = counting();
    const t = await start({}, inbox(), counters);
    await expect(open(`ws://127.0.0.1:${t.listener.port}`, ['chat'])).rejects.toThrow('HTTP 400');
    expect(counters.refusals).toBe(1);
    const status = await new Promise<number>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: t.listener.port, path: '/' }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
    });
    expect(status).toBe(426);
  });

  it('drops CRLF keep-alive messages and sends a non-UTF-8 message as a binary frame', async () => {
    const h = inbox();
    const counters = counting();
    const t = await start({}, h, counters);
    const ws = await open(`ws://127.0.0.1:${t.listener.port}`);
    ws.send('\r\n\r\n');
    ws.send(SIP);
    await eventually(() => expect(h.got).toHaveLength(1));
    expect(counters.keepAlives).toBe(1);
    const reply = nextMessage(ws);
    t.sendOnConnection(h.got[0].source.connectionId!, Buffer.from([0x53, 0x49, 0x50, 0xff, 0xfe]));
    expect((await reply).binary).toBe(true);
  });

  it('with allowed origins, refuses a browser upgrade from another origin (403) and accepts the listed one and none', async () => {
    const counters = counting();
    const t = await start({ allowedOrigins: ['https://Phone.example.com'] }, inbox(), counters);
    const url = `ws://127.0.0.1:${t.listener.port}`;
    await expect(open(url, ['sip'], { origin: 'https://evil.example.net' })).rejects.toThrow('HTTP 403');
    expect(counters.refusals).toBe(1);
    expect((await open(url, ['sip'], { origin: 'https://phone.example.com' })).protocol).toBe('sip');
    expect((await open(url)).protocol).toBe('sip'); // a non-browser client sends no Origin
  });

  it('refuses upgrades past maxConnections with 503 and counts the connections it holds', async () => {
    const counters = counting();
    const t = await start({ maxConnections: 1 }, inbox(), counters);
    await open(`ws://127.0.0.1:${t.listener.port}`);
    await expect(open(`ws://127.0.0.1:${t.listener.port}`)).rejects.toThrow('HTTP 503');
    expect(counters.connected).toBe(1);
    expect(t.connectionCount).toBe(1);
  });

  it('closes a message above the size limit without passing it on', async () => {
    const h = inbox();
    const t = await start({ maxMessageSize: 512 }, h);
    const ws = await open(`ws://127.0.0.1:${t.listener.port}`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(SIP + 'x'.repeat(1024));
    expect(await closed).toBe(1009); // RFC 6455 "message too big"
    expect(h.got).toHaveLength(0);
  });

  it('over TLS (wss) with the configured certificate', async () => {
    const h = inbox();
    const t = await start({ tls: { server: { cert: pki.serverCert, key: pki.serverKey, minVersion: 'TLSv1.2' }, client: {}, handshakeTimeoutMs: 1000 } }, h);
    expect(t.listener.transport).toBe('wss');
    const ws = await open(`wss://localhost:${t.listener.port}`, ['sip'], { ca: pki.ca });
    ws.send(SIP);
    await eventually(() => expect(h.got).toHaveLength(1));
    expect(h.got[0].source.transport).toBe('wss');
  });
});

describe('idle WebSocket connections', () => {
  it('are pinged when idle and kept while the client answers; closed when it does not', async () => {
    const counters = counting();
    const t = await start({ idleTimeoutMs: 300 }, inbox(), counters);
    const answering = await open(`ws://127.0.0.1:${t.listener.port}`);
    let pings = 0;
    answering.on('ping', () => pings++);
    // A client that answers nothing: a raw socket that upgrades and then never reads a frame.
    const silent = netConnect({ host: '127.0.0.1', port: t.listener.port }, () => silent.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n',
    ));
    silent.on('error', () => undefined);
    await eventually(() => expect(t.connectionCount).toBe(2));
    await eventually(() => expect(t.connectionCount).toBe(1), 4000);
    silent.destroy();
    await sleep(700);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(answering.readyState).toBe(WebSocket.OPEN);
    expect(t.connectionCount).toBe(1);
  });
});
