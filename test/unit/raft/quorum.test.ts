import { JointConfig, MajorityConfig, VoteResult, sortSmallAscending } from '../../../cluster/raft/quorum/index.js';

const acked = (m: Record<number, number>) => (id: number) => m[id];

describe('quorum: majority committed index', () => {
  test.each([
    [[1], { 1: 5 }, 5],
    [[1, 2], { 1: 5, 2: 3 }, 3],
    [[1, 2, 3], { 1: 5, 2: 3, 3: 1 }, 3],
    [[1, 2, 3], { 1: 5 }, 0],
    [[1, 2, 3, 4], { 1: 9, 2: 8, 3: 7, 4: 1 }, 7],
    [[1, 2, 3, 4, 5], { 1: 9, 2: 8, 3: 7, 4: 1, 5: 0 }, 7],
  ])('voters %j acked %j -> %d', (ids, a, want) => {
    expect(new MajorityConfig(ids).committedIndex(acked(a))).toBe(want);
  });

  test('empty majority is neutral (+Infinity)', () => {
    expect(new MajorityConfig().committedIndex(acked({}))).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('quorum: majority vote result', () => {
  const cfg = new MajorityConfig([1, 2, 3]);
  test.each([
    [{}, VoteResult.Pending],
    [{ 1: true }, VoteResult.Pending],
    [{ 1: true, 2: true }, VoteResult.Won],
    [{ 1: true, 2: false }, VoteResult.Pending],
    [{ 1: false, 2: false }, VoteResult.Lost],
    [{ 1: true, 2: false, 3: false }, VoteResult.Lost],
    [{ 4: true, 5: true }, VoteResult.Pending], // non-members do not count
  ])('votes %j -> %s', (v, want) => {
    const m = new Map(Object.entries(v).map(([k, b]) => [Number(k), b]));
    expect(cfg.voteResult(m)).toBe(want);
  });

  test('even-sized config needs n/2+1', () => {
    const c = new MajorityConfig([1, 2, 3, 4]);
    expect(c.voteResult(new Map([[1, true], [2, true]]))).toBe(VoteResult.Pending);
    expect(c.voteResult(new Map([[1, true], [2, true], [3, true]]))).toBe(VoteResult.Won);
    expect(c.voteResult(new Map([[1, false], [2, false]]))).toBe(VoteResult.Lost);
  });
});

describe('quorum: joint configuration (thesis §4.3)', () => {
  const j = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([3, 4, 5]));

  test('commit index is the min of both majorities', () => {
    // incoming (1,2,3) majority holds 7; outgoing (3,4,5) holds (2,1,0): majority at 1
    expect(j.committedIndex(acked({ 1: 9, 2: 7, 3: 2, 4: 1, 5: 0 }))).toBe(1);
    expect(j.committedIndex(acked({ 1: 9, 2: 7, 3: 7, 4: 8, 5: 0 }))).toBe(7);
  });

  test('needs a majority of both to win', () => {
    const v = (o: Record<number, boolean>) => new Map(Object.entries(o).map(([k, b]) => [Number(k), b]));
    expect(j.voteResult(v({ 1: true, 2: true }))).toBe(VoteResult.Pending);
    expect(j.voteResult(v({ 1: true, 2: true, 4: true, 5: true }))).toBe(VoteResult.Won);
    expect(j.voteResult(v({ 1: true, 2: true, 4: false, 5: false }))).toBe(VoteResult.Lost);
    expect(j.voteResult(v({ 3: true, 1: true, 4: true }))).toBe(VoteResult.Won);
  });

  test('non-joint config behaves as its incoming half', () => {
    const s = new JointConfig(new MajorityConfig([1, 2, 3]));
    expect(s.isJoint).toBe(false);
    expect(s.committedIndex(acked({ 1: 4, 2: 4, 3: 1 }))).toBe(4);
    expect(s.toString()).toBe('(1 2 3)');
    expect(j.toString()).toBe('(1 2 3)&&(3 4 5)');
  });
});

describe('sortSmallAscending (quorum scratch sort, no allocation)', () => {
  test('sorts the first n elements in place like Array.prototype.sort, leaving the rest', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 50;
    for (let t = 0; t < 500; t++) {
      const n = 1 + (t % 9);
      const a = Array.from({ length: n + 2 }, rnd);
      const want = [...a.slice(0, n)].sort((x, y) => x - y).concat(a.slice(n));
      sortSmallAscending(a, n);
      expect(a).toEqual(want);
    }
  });
});
