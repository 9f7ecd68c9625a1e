import { DialogTracker, dialogKey, registerDialogsActiveGauge } from '../../../node/dialog/index.js';
import { Registry } from 'prom-client';

const ok = (cseqMethod: string, status: number, toTag = 'b', fromTag = 'a', callId = 'c1') =>
  ({ cseqMethod, status, callId, fromTag, toTag });

describe('DialogTracker (siphon_dialogs_active)', () => {
  test.each([
    // [observations, active count after]
    [[ok('INVITE', 180)], 0],
    [[ok('INVITE', 200)], 1],
    [[ok('INVITE', 200, '')], 0], // no To tag: no dialog (§12.1)
    [[ok('INVITE', 486)], 0],
    [[ok('INVITE', 200), ok('INVITE', 200)], 1], // 2xx retransmission
    [[ok('INVITE', 200), ok('INVITE', 200, 'b2')], 2], // forked answers: two dialogs
    [[ok('INVITE', 200), ok('BYE', 200)], 0],
    [[ok('INVITE', 200), ok('BYE', 481)], 0],
    [[ok('INVITE', 200), ok('BYE', 408)], 0],
    [[ok('INVITE', 200), ok('BYE', 500)], 1],
    [[ok('INVITE', 200), ok('BYE', 200, 'a', 'b')], 0], // BYE from the callee: tags swapped
    [[ok('BYE', 200)], 0],
  ] as const)('%j → %i', (obs, active) => {
    const t = new DialogTracker({ idleTimeoutMs: 1000 });
    obs.forEach((o, i) => t.observeResponse(o, i));
    expect(t.active).toBe(active);
  });

  test('idle dialogs are swept; in-dialog traffic keeps one alive', () => {
    const t = new DialogTracker({ idleTimeoutMs: 1000 });
    t.observeResponse(ok('INVITE', 200, 'x', 'a', 'c1'), 0);
    t.observeResponse(ok('INVITE', 200, 'y', 'a', 'c2'), 0);
    t.observeRequest({ callId: 'c2', fromTag: 'y', toTag: 'a' }, 900);
    expect(t.sweep(999)).toEqual([]);
    expect(t.sweep(1000)).toEqual([{ kind: 'ended', key: dialogKey({ callId: 'c1', fromTag: 'a', toTag: 'x' }) }]);
    expect(t.active).toBe(1);
    expect(t.sweep(1900).map((c) => c.kind)).toEqual(['ended']);
    expect(t.active).toBe(0);
  });

  test('gauge reads the tracker at scrape time', async () => {
    const t = new DialogTracker({ idleTimeoutMs: 1000 });
    const registry = new Registry();
    registerDialogsActiveGauge(t, registry);
    t.observeResponse(ok('INVITE', 200), 0);
    expect(await registry.metrics()).toMatch(/^siphon_dialogs_active 1$/m);
  });
});
