/**
 * Tiny SIP test clients over real sockets: send raw bytes, collect what comes back.
 * Used by transport, admin and e2e tests; bounded waits only.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface UdpClient {
  readonly port: number;
  send(text: string | Buffer, port: number, host?: string): void;
  /** Next datagram, or rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  /** Resolves true when nothing arrives within `ms`. */
  silentFor(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function udpClient(): Promise<UdpClient> {
  const sock: UdpSocket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const queue: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  sock.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m.toString('latin1'));
    else queue.push(m.toString('latin1'));
  });
  return {
    port: sock.address().port,
    send: (text, port, host = '127.0.0.1') => sock.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, port, host),
    next: (timeoutMs = 3000) => {
      const q = queue.shift();
      if (q !== undefined) return Promise.resolve(q);
      return new Promise((resolve, reject) => {
        const w = (m: string) => {
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error('no UDP reply within timeout'));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    silentFor: (ms) =>
      new Promise((resolve) => {
        if (queue.length > 0) return resolve(false);
        const w = () => resolve(false);
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            resolve(true);
          }
        }, ms);
      }),
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

export interface TcpClient {
  readonly socket: Socket;
  readonly localPort: number;
  send(text: string | Buffer): void;
  /** Next complete SIP message (by Content-Length), or rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function tcpClient(port: number, host = '127.0.0.1'): Promise<TcpClient> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
  return streamClient(socket);
}

/** A SIP client over TLS (`tls` adds trust anchors, a client certificate, a server name). */
export async function tlsClient(port: number, tls: ConnectionOptions = {}, host = '127.0.0.1'): Promise<TcpClient> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = tlsConnect({ host, port, ...tls }, () => resolve(s));
    s.once('error', reject);
  });
  return streamClient(socket);
}

function streamClient(socket: Socket): TcpClient {
  socket.on('error', () => undefined);
  let buf = '';
  const messages: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  socket.on('data', (c: Buffer) => {
    buf += c.toString('latin1');
    for (;;) {
      buf = buf.replace(/^(\r\n)+/, '');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) break;
      const m = /\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(buf.slice(0, end + 2));
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < total) break;
      const msg = buf.slice(0, total);
      buf = buf.slice(total);
      const w = waiters.shift();
      if (w) w(msg);
      else messages.push(msg);
    }
  });
  return {
    socket,
    localPort: socket.localPort ?? 0,
    send: (text) => socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text),
    next: (timeoutMs = 3000) => {
      const q = messages.shift();
      if (q !== undefined) return Promise.resolve(q);
      return new Promise((resolve, reject) => {
        const w = (m: string) => {
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error('no TCP reply within timeout'));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => socket.destroy(),
  };
}

let seq = 0;

/** A well-formed request with the mandatory headers (RFC 3261 §8.1.1). */
export function sipRequest(
  method: string,
  opts: {
    transport?: 'UDP' | 'TCP' | 'TLS';
    viaHost?: string;
    viaPort?: number;
    rport?: boolean;
    body?: string;
    extra?: string;
    toTag?: string;
    /** Request-URI (and To URI); give the server's port so it recognises itself (default sip:service@127.0.0.1). */
    uri?: string;
  } = {},
): string {
  const n = ++seq;
  const uri = opts.uri ?? 'sip:service@127.0.0.1';
  const body = opts.body ?? '';
  const via = `SIP/2.0/${opts.transport ?? 'UDP'} ${opts.viaHost ?? '127.0.0.1'}${opts.viaPort === undefined ? '' : `:${opts.viaPort}`};branch=z9hG4bK-t${n}-${Date.now()}${opts.rport ? ';rport' : ''}`;
  return (
    `${method} ${uri} SIP/2.0\r\n` +
    `Via: ${via}\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:tester@127.0.0.1>;tag=f${n}\r\n` +
    `To: <${uri}>${opts.toTag ? `;tag=${opts.toTag}` : ''}\r\n` +
    `Call-ID: call-${n}-${Date.now()}@test\r\n` +
    `CSeq: ${n} ${method}\r\n` +
    (opts.extra ?? '') +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export function statusOf(msg: string): number {
  const m = /^SIP\/2\.0 (\d{3})/.exec(msg);
  return m ? Number(m[1]) : 0;
}

export function headerOf(msg: string, name: string): string | undefined {
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im');
  return re.exec(msg.slice(0, msg.indexOf('\r\n\r\n')))?.[1];
}
