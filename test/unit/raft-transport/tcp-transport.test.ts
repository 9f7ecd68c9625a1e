import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  FrameDecoder,
  PeerFrameType,
  TcpTransport,
  coalesceHeartbeats,
  encodeFrame,
  messageToPb,
  type TlsOptions,
} from '../../../cluster/raft/transport/index.js';
import { EntryType, MessageType, type Message } from '../../../cluster/raft/types.js';
import { until } from '../../helpers/eventually.js';

function msg(over: Partial<Message>): Message {
  return {
    type: MessageType.App,
    from: 1,
    to: 2,
    term: 5,
    logTerm: 4,
    index: 10,
    entries: [],
    commit: 9,
    reject: false,
    rejectHint: 0,
    ...over,
  };
}


const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

async function node(id: number, peers: Map<number, { host: string; port: number }>, tlsOpts?: TlsOptions, port = 0) {
  const got: Message[] = [];
  const unreachable: number[] = [];
  const forwarded: Uint8Array[] = [];
  const t = new TcpTransport(
    { id, listen: { host: '127.0.0.1', port }, peers, tls: tlsOpts, backoffMinMs: 20, backoffMaxMs: 200 },
    {
      onMessages: (m) => got.push(...m),
      onUnreachable: (p) => unreachable.push(p),
      onForward: (_from, d) => forwarded.push(...d),
    },
  );
  await t.start();
  stops.push(() => t.stop());
  return { t, got, unreachable, forwarded };
}

test('frame decoder reassembles frames split byte by byte and several frames per chunk', () => {
  const a = encodeFrame(Buffer.from('hello'));
  const b = encodeFrame(Buffer.from('world!'));
  const d = new FrameDecoder();
  const out: string[] = [];
  const all = Buffer.concat([a, b]);
  for (let i = 0; i < all.length; i++) out.push(...d.push(all.subarray(i, i + 1)).map((x) => x.toString()));
  expect(out).toEqual(['hello', 'world!']);
  expect(new FrameDecoder().push(Buffer.concat([a, b, a])).map((x) => x.toString())).toEqual(['hello', 'world!', 'hello']);
});

test('messages with entries and snapshots round-trip over loopback TCP', async () => {
  const b = await node(2, new Map());
  const a = await node(1, new Map([[2, { host: '127.0.0.1', port: b.t.port }]]));
  const big = Buffer.alloc(300_000, 7); // larger than one TCP chunk
  const sent = [
    msg({
      entries: [
        { term: 5, index: 11, type: EntryType.Normal, data: Buffer.from('abc') },
        { term: 5, index: 12, type: EntryType.Normal, data: big },
        { term: 5, index: 13, type: EntryType.Noop, data: new Uint8Array(0) },
      ],
    }),
    msg({
      type: MessageType.Snap,
      snapshot: { metadata: { index: 100, term: 4, conf: { voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: Buffer.from('snap') },
      snapshotOffset: 0,
      snapshotDone: true,
    }),
  ];
  a.t.send(sent);
  await until(() => b.got.length === 2);
  expect(b.got[0].entries.map((e) => e.index)).toEqual([11, 12, 13]);
  // An empty payload decodes as an empty Uint8Array (protobufjs' default would be a plain array).
  expect(b.got[0].entries[2].data).toBeInstanceOf(Uint8Array);
  expect(b.got[0].entries[2].data.length).toBe(0);
  expect(Buffer.from(b.got[0].entries[1].data).equals(big)).toBe(true);
  expect(b.got[0]).toMatchObject({ type: MessageType.App, from: 1, to: 2, term: 5, logTerm: 4, index: 10, commit: 9 });
  expect(b.got[1].snapshot?.metadata).toEqual(sent[1].snapshot!.metadata);
  expect(b.got[1].snapshotDone).toBe(true);
  a.t.forward(2, [Buffer.from('p1')]);
  await until(() => b.forwarded.length === 1);
});

test('a frame split across many TCP chunks is decoded once complete', async () => {
  const b = await node(2, new Map());
  const sock = net.connect(b.t.port, '127.0.0.1');
  stops.push(async () => void sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  const hello = encodeFrame(PeerFrameType.encode({ hello: { from: 1, cluster: 'siphon' } }).finish());
  const batch = encodeFrame(PeerFrameType.encode({ batch: { messages: [messageToPb(msg({ commit: 77 }))] } }).finish());
  const bytes = Buffer.concat([hello, batch]);
  for (let i = 0; i < bytes.length; i += 3) {
    sock.write(bytes.subarray(i, i + 3));
    await new Promise((r) => setTimeout(r, 1));
  }
  await until(() => b.got.length === 1);
  expect(b.got[0].commit).toBe(77);
});

test('garbage on the member port drops that connection, not the node', async () => {
  const b = await node(2, new Map());
  const sock = net.connect(b.t.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const closed = new Promise((r) => sock.once('close', r));
  sock.on('error', () => undefined);
  sock.write(Buffer.from([0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]));
  await closed;
  const a = await node(1, new Map([[2, { host: '127.0.0.1', port: b.t.port }]]));
  a.t.send([msg({})]);
  await until(() => b.got.length === 1);
});

test('heartbeats to one peer are coalesced; ReadIndex heartbeats with context are kept', () => {
  const list = [
    msg({ type: MessageType.Heartbeat, commit: 1 }),
    msg({ type: MessageType.App }),
    msg({ type: MessageType.Heartbeat, commit: 2 }),
    msg({ type: MessageType.Heartbeat, commit: 3, context: Buffer.from('r1') }),
    msg({ type: MessageType.Heartbeat, commit: 4 }),
  ];
  const out = coalesceHeartbeats(list);
  expect(out.map((m) => [m.type, m.commit])).toEqual([
    [MessageType.App, 9],
    [MessageType.Heartbeat, 3],
    [MessageType.Heartbeat, 4],
  ]);
});

test('reconnects with back-off after the peer restarts; unreachable is reported meanwhile', async () => {
  const b1 = await node(2, new Map());
  const port = b1.t.port;
  const a = await node(1, new Map([[2, { host: '127.0.0.1', port }]]));
  a.t.send([msg({ commit: 1 })]);
  await until(() => b1.got.length === 1);
  await b1.t.stop();
  await until(() => {
    a.t.send([msg({ commit: 2 })]);
    return a.unreachable.includes(2);
  });
  const b2 = await node(2, new Map(), undefined, port);
  await until(() => {
    a.t.send([msg({ commit: 3 })]);
    return b2.got.some((m) => m.commit === 3);
  });
});

test('a full send queue sheds instead of blocking', async () => {
  // Nothing listens on this port: the link stays down, the queue fills, sends are shed.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const deadPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const a = new TcpTransport(
    { id: 1, listen: { host: '127.0.0.1', port: 0 }, peers: new Map([[2, { host: '127.0.0.1', port: deadPort }]]), maxQueuedFrames: 16 },
    { onMessages: () => undefined, onUnreachable: () => shed++ },
  );
  let shed = 0;
  await a.start();
  stops.push(() => a.stop());
  const t0 = Date.now();
  for (let i = 0; i < 1000; i++) a.send([msg({ commit: i })]);
  expect(Date.now() - t0).toBeLessThan(3000); // never blocks on the dead peer (generous bound for busy CI)
  expect(a.stats.framesOut).toBeLessThanOrEqual(16);
  expect(shed).toBeGreaterThanOrEqual(1000 - 16);
});

describe('TLS', () => {
  let dir: string;
  let ca: Buffer;
  let certs: Record<string, { cert: Buffer; key: Buffer }>;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'raft-tls-'));
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca']);
    certs = {};
    for (const name of ['n1', 'n2', 'rogue']) {
      run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\n');
      if (name === 'rogue') {
        // Self-signed: not issued by the cluster CA.
        run(['x509', '-req', '-in', `${name}.csr`, '-signkey', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
      } else {
        run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
      }
      certs[name] = { cert: readFileSync(path.join(dir, `${name}.pem`)), key: readFileSync(path.join(dir, `${name}.key`)) };
    }
    ca = readFileSync(path.join(dir, 'ca.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('mTLS members exchange messages; a peer without a CA-issued certificate is refused', async () => {
    const b = await node(2, new Map(), { ca, ...certs.n2 });
    const a = await node(1, new Map([[2, { host: '127.0.0.1', port: b.t.port }]]), { ca, ...certs.n1 });
    a.t.send([msg({ commit: 42 })]);
    await until(() => b.got.length === 1);
    expect(b.got[0].commit).toBe(42);

    const rogue = await node(3, new Map([[2, { host: '127.0.0.1', port: b.t.port }]]), { ca, ...certs.rogue });
    for (let i = 0; i < 5; i++) {
      rogue.t.send([msg({ from: 3, commit: 99 })]);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(b.got.some((m) => m.commit === 99)).toBe(false);
    // Plain TCP to a TLS port is refused as well.
    const plain = await node(4, new Map([[2, { host: '127.0.0.1', port: b.t.port }]]));
    plain.t.send([msg({ from: 4, commit: 98 })]);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.got.some((m) => m.commit === 98)).toBe(false);
  });
});
