// DSCP marking on real sockets: markDscp/dscpOf through the native setsockopt, and the stream
// transport marking its outbound connections (TCP, and TLS, whose fd sits under the TLS handle),
// read back from the kernel with `ss --tos`.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from '@jest/globals';
import { TcpTransport, dscpOf, markDscp, signallingDscpUnavailable, type InboundHandler } from '../../../node/transport/index.js';
import { settles as eventually } from '../../helpers/eventually.js';
import { testPki } from '../../helpers/tls-certs.js';
import { tcpTestOptions } from './tcp-test-options.js';

const pki = testPki();
const counters = { malformed: () => undefined, shed: () => undefined, connections: () => undefined };
const handler: InboundHandler = { onMessage: () => undefined, onFramingFailure: () => null };

/** DSCP of the established TCP sockets whose peer is `port` (our outbound connections to it). */
function outboundDscp(port: number): number[] {
  const out = execFileSync('ss', ['-tan', '--tos', `dport = :${port}`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.startsWith('ESTAB'))
    .map((l) => Number((/tos:(0x[0-9a-f]+|\d+)/.exec(l) ?? [])[1]) >> 2);
}

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe('markDscp', () => {
  it('the native setsockopt is installed (the optional dependency built)', () => {
    expect(signallingDscpUnavailable()).toBeNull();
  });

  it('marks a UDP socket and a TCP listener; a listener passes its marking to the connections it accepts', async () => {
    const udp = createSocket('udp4');
    closers.push(() => udp.close());
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    expect(markDscp(udp, 46, 'IPv4')).toBeNull();
    expect(dscpOf(udp, 'IPv4')).toBe(46);

    const accepted: Promise<number | null> = new Promise((resolve) => {
      const server = createServer((c) => {
        resolve(dscpOf(c, 'IPv4'));
        c.destroy();
      });
      closers.push(() => server.close());
      void listening(server).then((port) => {
        expect(markDscp(server, 24, 'IPv4')).toBeNull();
        const s = connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        closers.push(() => s.destroy());
      });
    });
    expect(await accepted).toBe(24);
  });

  it('refuses a code point outside 0-63', () => {
    const udp = createSocket('udp4');
    expect(markDscp(udp, 64, 'IPv4')).toMatch(/not 0-63/);
    udp.close();
  });
});

describe('stream transport', () => {
  it('marks its outbound TCP connections', async () => {
    const peer = createServer((c) => c.on('error', () => undefined));
    closers.push(() => peer.close());
    const port = await listening(peer);
    const t = new TcpTransport({ ...tcpTestOptions(), dscp: 10 }, handler, counters);
    await t.start();
    closers.push(() => t.stop());
    t.send(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n'), { address: '127.0.0.1', port });
    await eventually(() => expect(outboundDscp(port)).toContain(10));
  });

  it('marks its outbound TLS connections (the fd under the TLS handle)', async () => {
    const peer = createTlsServer({ cert: pki.serverCert, key: pki.serverKey }, (c) => c.on('error', () => undefined));
    closers.push(() => peer.close());
    const port = await listening(peer);
    const tls = {
      server: { cert: pki.serverCert, key: pki.serverKey },
      client: { ca: pki.ca, rejectUnauthorized: true },
      handshakeTimeoutMs: 2000,
    };
    const t = new TcpTransport({ ...tcpTestOptions(), tls, dscp: 34 }, handler, counters);
    await t.start();
    closers.push(() => t.stop());
    t.send(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n'), { address: '127.0.0.1', port });
    await eventually(() => expect(outboundDscp(port)).toContain(34));
  });
});
