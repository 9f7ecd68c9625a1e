// Per-message counts folded into prom-client counters at scrape time: the exposition must read as
// if every message had called the counter itself.
import { Counter, Registry } from 'prom-client';
import { LabelTally, createNodeMetrics } from '../../../node/metrics/index.js';

async function scrape(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith('test_') || l.startsWith('siphon_re'));
}

describe('LabelTally', () => {
  test('each scrape shows the totals so far, series in first-seen order, nothing counted twice', async () => {
    const registry = new Registry();
    const tally = new LabelTally('code');
    new Counter({ name: 'test_codes_total', help: 'h', labelNames: ['code'], registers: [registry], collect() { tally.flushInto(this); } });
    tally.add(200);
    tally.add(404);
    tally.add(200);
    expect(await scrape(registry)).toEqual(['test_codes_total{code="200"} 2', 'test_codes_total{code="404"} 1']);
    // A scrape with nothing new changes nothing.
    expect(await scrape(registry)).toEqual(['test_codes_total{code="200"} 2', 'test_codes_total{code="404"} 1']);
    tally.add(404);
    tally.add('other');
    expect(await scrape(registry)).toEqual([
      'test_codes_total{code="200"} 2',
      'test_codes_total{code="404"} 2',
      'test_codes_total{code="other"} 1',
    ]);
  });

  test('a direct inc on the counter still adds up with the tallied counts', async () => {
    const registry = new Registry();
    const tally = new LabelTally('method');
    const counter = new Counter({ name: 'test_methods_total', help: 'h', labelNames: ['method'], registers: [registry], collect() { tally.flushInto(this); } });
    counter.inc({ method: 'INVITE' });
    tally.add('INVITE');
    expect(await scrape(registry)).toEqual(['test_methods_total{method="INVITE"} 2']);
  });

  test('the node metrics count requests by method and responses by code through their tallies', async () => {
    const m = createNodeMetrics({ defaultMetrics: false });
    m.requestsByMethod.add('REGISTER');
    m.requestsByMethod.add('REGISTER');
    m.responsesByCode.add(200);
    const lines = await scrape(m.registry);
    expect(lines).toContain('siphon_requests_total{method="REGISTER"} 2');
    expect(lines).toContain('siphon_responses_total{code="200"} 1');
  });
});
