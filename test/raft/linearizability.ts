// Linearizability checker for a key-value register history, in the manner of Porcupine
// (Wing & Gong's search with Lowe's memoization of (linearized set, state) pairs), partitioned
// per key: a KV store is linearizable iff each key's sub-history is (locality, Herlihy & Wing §3.3).

export type KvOp =
  | { kind: 'put'; key: string; value: string; call: number; ret: number }
  | { kind: 'get'; key: string; value: string | null; call: number; ret: number };

/** `ret` = +Infinity for an operation whose outcome is unknown (timed out): it may or may not take effect. */
export interface CheckResult {
  ok: boolean;
  /** Key whose history is not linearizable. */
  badKey?: string;
  /** True if the search budget ran out before deciding (counted as ok). */
  exhausted: boolean;
}

interface Node {
  op: number; // index into ops
  isCall: boolean;
  time: number;
  prev: Node | null;
  next: Node | null;
  match: Node | null; // call -> its return
}

/** Register semantics: put sets, get must observe the current value (null = never written). */
function stepModel(state: string | null, op: KvOp): [boolean, string | null] {
  if (op.kind === 'put') return [true, op.value];
  return [op.value === state, state];
}

function checkKey(ops: KvOp[], budget: number): 'ok' | 'bad' | 'exhausted' {
  if (ops.length === 0) return 'ok';
  // Build the event list: calls sort before returns at equal times (treated as concurrent).
  const evs: Node[] = [];
  const calls: Node[] = [];
  ops.forEach((o, i) => {
    const c: Node = { op: i, isCall: true, time: o.call, prev: null, next: null, match: null };
    const r: Node = { op: i, isCall: false, time: o.ret, prev: null, next: null, match: null };
    c.match = r;
    evs.push(c, r);
    calls.push(c);
  });
  evs.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Node = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let p = head;
  for (const e of evs) {
    p.next = e;
    e.prev = p;
    p = e;
  }
  const words = Math.ceil(ops.length / 32);
  const bits = new Uint32Array(words);
  const cache = new Set<string>();
  const stack: { node: Node; state: string | null }[] = [];
  let state: string | null = null;
  let entry = head.next;
  let steps = 0;

  const lift = (n: Node) => {
    n.prev!.next = n.next;
    if (n.next) n.next.prev = n.prev;
    const m = n.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (n: Node) => {
    const m = n.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    n.prev!.next = n;
    if (n.next) n.next.prev = n;
  };

  while (head.next !== null) {
    if (++steps > budget) return 'exhausted';
    if (entry === null) return 'bad';
    if (entry.isCall) {
      const [ok, ns] = stepModel(state, ops[entry.op]);
      let advanced = false;
      if (ok) {
        bits[entry.op >> 5] |= 1 << (entry.op & 31);
        const key = `${bits.join(',')}|${ns ?? '\u0000'}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node: entry, state });
          state = ns;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          bits[entry.op >> 5] &= ~(1 << (entry.op & 31));
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // Reached the return of an operation not yet linearized: backtrack.
      const top = stack.pop();
      if (!top) return 'bad';
      state = top.state;
      bits[top.node.op >> 5] &= ~(1 << (top.node.op & 31));
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return 'ok';
}

/** Checks a whole KV history, one key at a time. */
export function checkLinearizable(history: KvOp[], budgetPerKey = 2_000_000): CheckResult {
  const byKey = new Map<string, KvOp[]>();
  for (const op of history) {
    if (op.call > op.ret) throw new Error(`operation returns before its call: ${JSON.stringify(op)}`);
    let l = byKey.get(op.key);
    if (!l) byKey.set(op.key, (l = []));
    l.push(op);
  }
  let exhausted = false;
  for (const [key, ops] of byKey) {
    // A write of unknown outcome whose value nobody read can be linearized last, after every
    // other operation, without changing any result: drop it to keep the search small.
    const read = new Set(ops.filter((o) => o.kind === 'get').map((o) => o.value));
    byKey.set(key, ops.filter((o) => !(o.kind === 'put' && o.ret === Infinity && !read.has(o.value))));
  }
  for (const key of [...byKey.keys()].sort()) {
    const r = checkKey(byKey.get(key)!, budgetPerKey);
    if (r === 'bad') return { ok: false, badKey: key, exhausted };
    if (r === 'exhausted') exhausted = true;
  }
  return { ok: true, exhausted };
}
