/**
 * A UDP relay on 127.0.0.1 that duplicates and delays datagrams between two fixed peers, to put
 * reordering and duplication between SIPp and the node (what a lossy, multi-path network does to
 * SIP over UDP, RFC 3261 §17/§18). Seeded: a failing run reproduces with the same seed.
 *
 *   side A (e.g. a SIPp) <-> [front] relay [back] <-> side B (e.g. the node)
 *
 * Side A sends to `frontPort`; the relay forwards from its back socket to B, so B answers the back
 * socket, and those answers leave the front socket for A. Every datagram is recorded as it is
 * delivered (after any delay) so a test can tell what order the far side saw.
 */
import { createSocket, type Socket } from 'node:dgram';
import { seeded } from '../../helpers/seeded.js';

export type Direction = 'toB' | 'toA';

export interface FaultProfile {
  /** Share of datagrams sent twice (the copy right behind the original). */
  readonly duplicate: number;
  /** Share of datagrams held back for a random time in [delayMinMs, delayMaxMs]. */
  readonly delay: number;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
}

export const CLEAN: FaultProfile = { duplicate: 0, delay: 0, delayMinMs: 0, delayMaxMs: 0 };

export interface Delivery {
  readonly direction: Direction;
  /** When the relay received it, and when it passed it on (later when delayed). */
  readonly receivedAt: number;
  readonly at: number;
  /** First line, e.g. 'SIP/2.0 180 Ringing' or 'INVITE sip:bob@… SIP/2.0'. */
  readonly startLine: string;
  readonly callId: string;
  /** CSeq method, e.g. 'INVITE'. */
  readonly cseqMethod: string;
  readonly duplicate: boolean;
  readonly delayed: boolean;
}

export interface RelayOptions {
  readonly peerA: number;
  readonly peerB: number;
  readonly seed: number;
  readonly toB?: FaultProfile;
  readonly toA?: FaultProfile;
}

export interface UdpFaultRelay {
  /** Where side A sends (and what side B sees as A's address, via the back socket: `backPort`). */
  readonly frontPort: number;
  readonly backPort: number;
  readonly deliveries: readonly Delivery[];
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

function header(text: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(text);
  return m === null ? '' : m[1].trim();
}

function bind(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, HOST, () => resolve(s));
  });
}

export async function startUdpFaultRelay(o: RelayOptions): Promise<UdpFaultRelay> {
  const random = seeded(o.seed);
  const front = await bind();
  const back = await bind();
  const deliveries: Delivery[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const deliver = (direction: Direction, msg: Buffer, receivedAt: number, duplicate: boolean, delayed: boolean): void => {
    if (closed) return;
    const text = msg.toString('latin1');
    deliveries.push({
      direction, receivedAt, at: Date.now(), startLine: text.slice(0, text.indexOf('\r\n')), callId: header(text, 'Call-ID'),
      cseqMethod: header(text, 'CSeq').split(/\s+/)[1] ?? '', duplicate, delayed,
    });
    if (direction === 'toB') back.send(msg, o.peerB, HOST);
    else front.send(msg, o.peerA, HOST);
  };

  const relay = (direction: Direction, profile: FaultProfile) => (msg: Buffer): void => {
    const receivedAt = Date.now();
    const copies = random() < profile.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const duplicate = i > 0;
      if (random() < profile.delay) {
        const ms = profile.delayMinMs + random() * (profile.delayMaxMs - profile.delayMinMs);
        const t = setTimeout(() => {
          timers.delete(t);
          deliver(direction, msg, receivedAt, duplicate, true);
        }, ms);
        timers.add(t);
      } else {
        deliver(direction, msg, receivedAt, duplicate, false);
      }
    }
  };

  front.on('message', relay('toB', o.toB ?? CLEAN));
  back.on('message', relay('toA', o.toA ?? CLEAN));

  return {
    frontPort: front.address().port,
    backPort: back.address().port,
    deliveries,
    close: async () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([front, back].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
