/**
 * Overload control on a real node, in-process: a stalled event loop leaves a standing queue; the
 * node then answers a share of new requests 503 + Retry-After without state, absorbs the ACK of
 * such an answer, and exports what it did.
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
      overload: { enabled: true, target_delay_ms: 50, interval_ms: 50, retry_after_secs: 7 },
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

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('after a stall, new requests are shed with 503 + Retry-After, in-dialog ones are not, and the 503 ACK is absorbed', async () => {
  const c = await udpClient();
  try {
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(200);
    expect(await metric('siphon_overload_shed_ratio')).toContain('siphon_overload_shed_ratio 0');

    // Let a few probes queue behind a stalled loop: their delay is the standing queue.
    await sleep(30);
    stall(400);
    await sleep(20);
    const shedRatio = Number((await metric('siphon_overload_shed_ratio')).split(' ')[1]);
    expect(shedRatio).toBeGreaterThanOrEqual(0.4);

    const requests = Array.from({ length: 6 }, () => sipRequest('OPTIONS', { viaPort: c.port }));
    for (const r of requests) c.send(r, udpPort);
    const answers = [];
    for (let i = 0; i < requests.length; i++) answers.push(await c.next());
    const shed = answers.filter((a) => statusOf(a) === 503);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    expect(answers.length - shed.length).toBeGreaterThanOrEqual(1); // a share, not everything
    for (const a of shed) expect(headerOf(a, 'Retry-After')).toBe('7');

    // An in-dialog request (To tag) is never shed.
    c.send(sipRequest('OPTIONS', { viaPort: c.port, toTag: 'dialog1' }), udpPort);
    expect(statusOf(await c.next())).toBe(200);

    // The ACK for a stateless 503 carries its To tag and is absorbed, not routed.
    const to = headerOf(shed[0], 'To') ?? '';
    const tag = /;tag=([^;>\s]+)/.exec(to)?.[1];
    expect(tag).toBeDefined();
    const before = node.dispatcher.stats().stateless_acks_absorbed;
    c.send(sipRequest('ACK', { viaPort: c.port, toTag: tag }), udpPort);
    await until(() => node.dispatcher.stats().stateless_acks_absorbed === before + 1, 5000);
    expect(await metric('siphon_overload_shed_total')).toMatch(/method="OPTIONS"} [1-9]/);

    // The queue is gone: shedding winds down to nothing (2 % of admission per decision).
    await eventually('shed ratio back to 0', () => metric('siphon_overload_shed_ratio'), (m) => m.endsWith(' 0'), 10_000);
    c.send(sipRequest('OPTIONS', { viaPort: c.port }), udpPort);
    expect(statusOf(await c.next())).toBe(200);
  } finally {
    await c.close();
  }
});
