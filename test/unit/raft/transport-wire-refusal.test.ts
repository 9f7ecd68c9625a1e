// The member and client wires refuse what no member or log node sends (found by the raft fuzz
// campaign, test/fuzz/campaign/raft-target.ts, seed 1): the connection goes, the member stays.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LogClient, LogClientError, ReplicatedLog } from '../../../cluster/log/index.js';
import {
  FrameDecoder, PeerFrameType, TcpTransport, encodeFrame, messageFromPb, messageToPb,
} from '../../../cluster/raft/transport/index.js';
import { MAX_WIRE_NUMBER, WireMessageError } from '../../../cluster/raft/transport/message-codec.js';
import { MessageType, StateRole, type EntryType, type Message } from '../../../cluster/raft/types.js';
import { until } from '../../helpers/eventually.js';

function msg(over: Partial<Message>): Message {
  return { type: MessageType.Heartbeat, from: 2, to: 1, term: 5, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...over };
}

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

/** Connects to `port`, writes `bytes`, resolves when the other side closes (or after 2 s: 'open'). */
function writeAndWait(port: number, bytes: Buffer): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const t = setTimeout(() => {
      s.destroy();
      resolve('open');
    }, 2000);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
    s.on('connect', () => s.write(bytes));
  });
}

const hello = (from: number, cluster = 'siphon'): Buffer => encodeFrame(PeerFrameType.encode({ hello: { from, cluster } }).finish());
const batch = (...m: Message[]): Buffer => encodeFrame(PeerFrameType.encode({ batch: { messages: m.map(messageToPb) } }).finish());

describe('messageFromPb refuses what no member sends', () => {
  const decode = (m: Message): Message => messageFromPb(PeerFrameType.toObject(PeerFrameType.decode(PeerFrameType.encode({ batch: { messages: [messageToPb(m)] } }).finish()), { longs: Number }).batch.messages[0]);

  it.each([
    ['a local type (CheckQuorum)', msg({ type: MessageType.CheckQuorum }), 'message type 19 is not sent between members'],
    ['an unknown type', msg({ type: 875 as MessageType }), 'message type 875 is not sent between members'],
    ['a term beyond 2^47 (storage keeps 48 bits; term+1 at 2^53 is not even representable)', msg({ term: 2 ** 53 - 1 }), 'term 9007199254740991 out of range'],
    ['an entry of unknown type', msg({ type: MessageType.App, entries: [{ term: 5, index: 1, type: 7 as EntryType, data: new Uint8Array(0) }] }), 'entry type 7 unknown'],
    ['a snapshot voter id beyond 2^47', msg({
      type: MessageType.Snap,
      snapshot: { metadata: { index: 3, term: 1, conf: { voters: [2 ** 48], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array(0) },
    }), 'voter 281474976710656 out of range'],
  ])('%s', (_what, m, error) => {
    expect(() => decode(m)).toThrow(WireMessageError);
    expect(() => decode(m)).toThrow(error);
  });

  it('accepts every field up to the bound', () => {
    const m = decode(msg({ type: MessageType.App, term: MAX_WIRE_NUMBER, index: MAX_WIRE_NUMBER - 1, commit: 7, entries: [{ term: MAX_WIRE_NUMBER, index: MAX_WIRE_NUMBER, type: 2, data: new Uint8Array(0) }] }));
    expect(m).toMatchObject({ type: MessageType.App, term: MAX_WIRE_NUMBER, index: MAX_WIRE_NUMBER - 1, commit: 7 });
    expect(m.entries[0].index).toBe(MAX_WIRE_NUMBER);
  });
});

describe('TcpTransport drops the connection of a frame no member sends', () => {
  async function member(): Promise<{ t: TcpTransport; got: Message[] }> {
    const got: Message[] = [];
    const t = new TcpTransport({ id: 1, listen: { host: '127.0.0.1', port: 0 }, peers: new Map() }, { onMessages: (m) => got.push(...m) });
    await t.start();
    stops.push(() => t.stop());
    return { t, got };
  }

  it.each([
    ['a forged term of 2^53-1', () => batch(msg({ term: 2 ** 53 - 1 }))],
    ['a message claiming another sender than the hello', () => batch(msg({ from: 3 }))],
    ['a message addressed to another member', () => batch(msg({ to: 4 }))],
    ['a local message type', () => batch(msg({ type: MessageType.Hup }))],
  ])('%s: refused and counted; the next connection is served', async (_what, frame) => {
    const { t, got } = await member();
    expect(await writeAndWait(t.port, Buffer.concat([hello(2), frame()]))).toBe('closed');
    expect(got).toEqual([]);
    expect(t.stats.rejected).toBe(1);
    expect(t.lastRefusal).toMatch(/^from member 2: WireMessageError: \S/);
    const ok = net.connect(t.port, '127.0.0.1');
    stops.push(() => void ok.destroy());
    ok.write(Buffer.concat([hello(2), batch(msg({ commit: 3 }))]));
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ from: 2, to: 1, commit: 3 });
  });

  it('a hello from id 0, from itself or for another cluster is refused', async () => {
    const { t } = await member();
    for (const h of [hello(0), hello(1), hello(2, 'other')]) expect(await writeAndWait(t.port, h)).toBe('closed');
    expect(t.stats.rejected).toBe(3);
  });
});

describe('FrameDecoder', () => {
  it('does not join an incomplete frame\'s chunks per chunk (a 16 MB frame in 64 KB chunks is joined once)', () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 0x5a);
    const wire = encodeFrame(body);
    const realConcat = Buffer.concat;
    let joins = 0;
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      joins++;
      return realConcat(list, total);
    }) as typeof Buffer.concat;
    try {
      const dec = new FrameDecoder();
      const frames: Buffer[] = [];
      for (let at = 0; at < wire.length; at += 65_536) frames.push(...dec.push(wire.subarray(at, at + 65_536)));
      expect(frames).toHaveLength(1);
      expect(frames[0].equals(body)).toBe(true);
      expect(joins).toBeLessThanOrEqual(1);
    } finally {
      Buffer.concat = realConcat;
    }
  });

  it('still yields frames split at every byte, and several per chunk', () => {
    const wire = Buffer.concat([encodeFrame(Buffer.from('a')), encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.from('bcd'))]);
    const dec = new FrameDecoder();
    const out: string[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...dec.push(wire.subarray(i, i + 1)).map((b) => b.toString()));
    out.push(...dec.push(Buffer.concat([wire, wire.subarray(0, 6)])).map((b) => b.toString()));
    out.push(...dec.push(wire.subarray(6)).map((b) => b.toString()));
    expect(out).toEqual(['a', '', 'bcd', 'a', '', 'bcd', 'a', '', 'bcd']);
  });
});

describe('a single-member log under forged frames', () => {
  it('a forged term of 2^53-1 no longer halts the member: it stays leader and commits', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raft-wire-'));
    const log = new ReplicatedLog({ id: 1, dataDir: dir, listen: { host: '127.0.0.1', port: 0 }, peers: new Map(), fsync: false });
    stops.push(() => rmSync(dir, { recursive: true, force: true }));
    stops.push(() => log.stop());
    const port = await log.start();
    await until(() => log.status().role === StateRole.Leader);
    const term = log.status().term;
    for (const type of [MessageType.App, MessageType.Heartbeat, MessageType.Vote]) {
      expect(await writeAndWait(port, Buffer.concat([hello(2), batch(msg({ type, term: 2 ** 53 - 1 }))]))).toBe('closed');
    }
    expect(log.status()).toMatchObject({ role: StateRole.Leader, term });
    const r = await log.append([Buffer.from('still here')]);
    expect(r.index).toBeGreaterThan(0);
  });
});

describe('LogClient against a server speaking something else', () => {
  it('fails its calls with ProtocolError instead of throwing out of the socket handler', async () => {
    const server = net.createServer((s) => s.on('data', () => s.write(Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const client = await LogClient.connect('127.0.0.1', (server.address() as net.AddressInfo).port);
    stops.push(() => client.close());
    const err = await client.status(2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogClientError);
    expect((err as LogClientError).code).toBe('ProtocolError');
    await expect(client.status()).rejects.toThrow(/^ProtocolError/);
  });
});
