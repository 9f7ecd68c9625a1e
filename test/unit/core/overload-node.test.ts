/**
 * Overload control on a real node, in-process: a burst that overflows the listener's socket (a
 * small receive buffer, and this process cannot read while it is still sending) is overload the
 * kernel counts; the node then answers a share of new requests 503 + Retry-After without state,
 * never an in-dialog one, absorbs the ACK of such an answer, exports what it did, and recovers.
 */
import { configSchema } from '../../../config/index.js';
import { startSipNode, type SipNode } from '../../../node/core/index.js';
import { createLogger } from '../../../node/log/index.js';
import { eventually, sleep, until } from '../../helpers/eventually.js';
import { headerOf, sipRequest, statusOf, udpClient } from '../../helpers/sip-client.js';

let node: SipNode;
let udpPort: number;

beforeAll(async () => {
  const config = configSchema.decode(
    {
      listen: { udp: ['127.0.0.1:0'], tcp: [] },
      admin: { enabled: false },
      log: { level: 'silent' },
      transport: { udp_recv_buffer_bytes: 4096 },
      // The target is far above any event-loop lateness a loaded test box shows, so only the
      // socket's drops start shedding here (a loss cuts admission by the same share at any target).
      overload: { enabled: true, target_delay_ms: 1000, interval_ms: 50, retry_after_secs: 7 },
    },
    '',
  );
  node = await startSipNode(config, createLogger(config.log).logger);
  udpPort = node.udp[0].listener.port;
});
afterAll(() => node.stop());

const metric = async (name: string): Promise<string> =>
  (await node.metrics.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');

const shedRatio = async (): Promise<number> => Number((await metric('siphon_overload_shed_ratio')).split(' ')[1]);

test('socket drops start shedding: new requests get 503 + Retry-After, in-dialog ones do not, the 503 ACK is absorbed, and it winds down', async () => {
  const flood = await udpClient();
  const c = await udpClient();
  try {
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(200);
    expect(await shedRatio()).toBe(0);

    // 300 datagrams into an 8 KiB socket before the node can read one: the kernel drops most.
    for (let i = 0; i < 300; i++) flood.send(sipRequest('OPTIONS', { viaPort: flood.port }), udpPort);
    await eventually('shedding after drops', shedRatio, (r) => r >= 0.4, 5000);

    // One at a time: the 8 KiB socket would drop a burst of them too.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
      answers.push(await c.next());
    }
    const shed = answers.filter((a) => statusOf(a) === 503);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    expect(answers.length - shed.length).toBeGreaterThanOrEqual(1); // a share, not everything
    for (const a of shed) expect(headerOf(a, 'Retry-After')).toBe('7');

    // An in-dialog request (To tag) is never shed.
    for (let i = 0; i < 3; i++) {
      c.send(sipRequest('OPTIONS', { viaPort: c.port, toTag: `dialog${i}` }), udpPort);
      expect(statusOf(await c.next())).toBe(200);
    }

    // The ACK for a stateless 503 carries its To tag and is absorbed, not routed.
    const tag = /;tag=([^;>\s]+)/.exec(headerOf(shed[0], 'To') ?? '')?.[1];
    expect(tag).toBeDefined();
    const before = node.dispatcher.stats().stateless_acks_absorbed;
    c.send(sipRequest('ACK', { viaPort: c.port, toTag: tag }), udpPort);
    await until(() => node.dispatcher.stats().stateless_acks_absorbed === before + 1, 5000);
    expect(await metric('siphon_overload_shed_total')).toMatch(/method="OPTIONS"} [1-9]/);

    // Nothing queues any more: shedding winds down to nothing (2 % of admission per decision).
    await eventually('shed ratio back to 0', shedRatio, (r) => r === 0, 10_000);
    await sleep(20);
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(200);
  } finally {
    await c.close();
    await flood.close();
  }
});
