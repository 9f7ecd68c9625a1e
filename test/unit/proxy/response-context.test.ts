import { challengeSources, dispositionFor, selectBestResponse, upstreamStatus } from '../../../node/proxy/index.js';

describe('RFC 3261 §16.7 best-response selection', () => {
  test.each([
    // stored finals in arrival order → chosen status
    [[], 408, 'no final at all: proxy generates 408 (item 6)'],
    [[486], 486, 'single final'],
    [[486, 404], 486, 'same class: earliest wins'],
    [[500, 486, 302], 302, 'lowest class wins'],
    [[486, 603, 302], 603, '6xx wins over every other class'],
    [[404, 407], 407, '4xx prefers a resubmission hint (407)'],
    [[480, 401, 407], 401, 'first of the hints'],
    [[415, 486], 415, '415 is a hint'],
    [[503, 500], 503, 'same 5xx class: earliest (mapped to 500 later)'],
    [[408, 487], 408, 'timeouts compete like any 4xx'],
  ])('%j → %i (%s)', (stored, expected) => {
    const best = selectBestResponse(stored);
    expect(best.status).toBe(expected);
    if (best.kind === 'stored') expect(stored[best.index]).toBe(expected);
    else expect(stored).toHaveLength(0);
  });

  test.each([
    [[408, 486], 486, 1, 'a timed-out branch loses to any answer (RFC 4320 §4.2)'],
    [[408, 503, 408], 503, 1, 'even a 5xx beats it'],
    [[486, 408], 486, 0, 'index maps back to arrival order'],
    [[408, 408], 408, 0, 'only timeouts: the 408 is chosen (and then never sent)'],
  ])('non-INVITE %j → %i at %i (%s)', (stored, expected, index) => {
    const best = selectBestResponse(stored, true);
    expect(best).toEqual({ kind: 'stored', index, status: expected });
  });

  test.each([[503, 500], [500, 500], [486, 486], [603, 603]])('upstream status of %i is %i (503 → 500)', (s, up) => {
    expect(upstreamStatus(s)).toBe(up);
  });

  test('401/407 challenges are gathered from every 401/407 in the context (item 7)', () => {
    expect(challengeSources([401, 486, 407, 401], 401)).toEqual([0, 2, 3]);
    expect(challengeSources([401, 486], 486)).toEqual([]);
  });
});

describe('RFC 3261 §16.7 per-response disposition', () => {
  const inv = { method: 'INVITE', finalSent: false };
  const invDone = { method: 'INVITE', finalSent: true };
  const opt = { method: 'OPTIONS', finalSent: false };
  const optDone = { method: 'OPTIONS', finalSent: true };
  test.each([
    [100, inv, 'absorb'],
    [180, inv, 'forward'],
    [183, invDone, 'absorb'],
    [200, inv, 'forward'],
    [200, invDone, 'forward'],
    [200, opt, 'forward'],
    [200, optDone, 'absorb'],
    [486, inv, 'store'],
    [302, inv, 'store'],
    [603, inv, 'store-and-cancel-others'],
    [486, invDone, 'absorb'],
    [603, invDone, 'absorb'],
  ] as const)('%i with %j → %s', (status, state, expected) => {
    expect(dispositionFor(status, state)).toBe(expected);
  });
});
