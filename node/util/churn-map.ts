/**
 * A Map for entries that come and go with each request (live transactions, proxy response
 * contexts, per-AoR REGISTER queues) and whose values reach a request's whole object graph.
 *
 * V8 keeps a Map's entries in a hash table that it replaces as deletions pile up, and a replaced
 * table keeps the slots it had (iterators still walking it need them). Once such a table is in the
 * old generation, a scavenge counts every young object its stale slots name as alive: a request
 * finished long ago survives, is promoted with everything it points at, and stays until the next
 * full mark-compact. Measured in bench:pipeline (60,000 REGISTERs through the inbound batcher, V8
 * pretenuring off as the node runs it, gc-tuning.ts): 303 MB promoted with plain Maps for the
 * transaction table, the proxy's contexts and the registrar's queues, 92 MB with these, and scavenge
 * pauses down from about 0.85 s to 0.35–0.39 s.
 *
 * Each value sits in a one-field box that is emptied when its entry is deleted, so a stale table
 * holds empty boxes. Only the Map operations these call sites use are offered.
 */
interface Box<V> {
  value: V | undefined;
}

export class ChurnMap<K, V> {
  private readonly boxes = new Map<K, Box<V>>();

  get size(): number {
    return this.boxes.size;
  }

  get(key: K): V | undefined {
    return this.boxes.get(key)?.value;
  }

  has(key: K): boolean {
    return this.boxes.has(key);
  }

  set(key: K, value: V): this {
    const box = this.boxes.get(key);
    if (box === undefined) this.boxes.set(key, { value });
    else box.value = value;
    return this;
  }

  delete(key: K): boolean {
    const box = this.boxes.get(key);
    if (box === undefined) return false;
    box.value = undefined;
    return this.boxes.delete(key);
  }
}
