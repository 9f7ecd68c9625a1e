/**
 * The header section of a SIP message: ordered, case-insensitive, compact forms folded onto their full
 * names (RFC 3261 §7.3). Fields parsed off the wire keep their byte range in the source buffer, so an
 * untouched field (in particular an unknown one) is written back byte-exact, and its value string is only
 * decoded when somebody asks for it.
 */
import { headerName, isListHeader } from './header-names.js';
import { firstTopLevel, isToken, splitTopLevel, unfold } from './syntax.js';

/** Node's internal UTF-8 decoder: Buffer#toString normalises its arguments first, per header value read. */
type Utf8Buffer = Buffer & { utf8Slice(start: number, end: number): string };

export class HeaderField {
  /** spelling for iteration and for re-writing: the full canonical name for known headers, else as written */
  readonly name: string;
  /** lower-case full name */
  readonly key: string;
  private decoded: string | undefined;
  /** source buffer and byte offsets of the whole line (without CRLF) and of the value; null when built in memory */
  readonly src: Buffer | null;
  readonly lineStart: number;
  readonly lineEnd: number;
  private readonly valueStart: number;
  private readonly valueEnd: number;
  private readonly folded: boolean;

  constructor(name: string, key: string, value: string | undefined, src: Buffer | null = null,
    lineStart = 0, lineEnd = 0, valueStart = 0, valueEnd = 0, folded = false) {
    this.name = name;
    this.key = key;
    this.decoded = value;
    this.src = src;
    this.lineStart = lineStart;
    this.lineEnd = lineEnd;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.folded = folded;
  }

  /** The value with folding replaced by single spaces (RFC 3261 §7.3.1), decoded as UTF-8. */
  get value(): string {
    if (this.decoded === undefined) {
      const raw = (this.src as Utf8Buffer).utf8Slice(this.valueStart, this.valueEnd);
      this.decoded = this.folded ? unfold(raw).trim() : raw;
    }
    return this.decoded;
  }
}

/**
 * A CR or LF inside a value would let it inject header lines. Values often come from received messages,
 * so instead of throwing they are turned into a single SP, which is what folding means anyway
 * (RFC 3261 §7.3.1); folding itself is never generated.
 */
function safeValue(value: string): string {
  return value.indexOf('\r') < 0 && value.indexOf('\n') < 0 ? value : value.replace(/[\r\n]+/g, ' ');
}

function checkName(name: string): void {
  // RFC 3261 §7.3.1: a header name is a token.
  if (!isToken(name)) throw new RangeError(`invalid header name ${JSON.stringify(name)}`);
}

function makeField(name: string, value: string): HeaderField {
  checkName(name);
  const hn = headerName(name);
  return new HeaderField(hn.canonical, hn.key, safeValue(value));
}

/** What SipMessage's accessors derive from the headers (and the Request-URI), one cache slot each. */
export type MemoKey = 'topVia' | 'vias' | 'callId' | 'cseq' | 'from' | 'to' | 'maxForwards' | 'contacts' | 'expires'
  | 'routes' | 'recordRoutes' | 'contentLength' | 'ruri';

const SLOT: Readonly<Record<MemoKey, number>> = {
  topVia: 0, vias: 1, callId: 2, cseq: 3, from: 4, to: 5, maxForwards: 6, contacts: 7, expires: 8, routes: 9,
  recordRoutes: 10, contentLength: 11, ruri: 12,
};
const SLOTS = 13;
/** An empty slot (a derived value may itself be undefined, as Max-Forwards is when absent). */
const UNSET: unique symbol = Symbol('unset');

/** Header (lower-case full name) → the memo slots derived from it. */
// A Map: header names come off the wire, and "constructor" must not find Object.prototype's.
const DERIVED: ReadonlyArray<readonly [string, readonly MemoKey[]]> = [
  ['via', ['topVia', 'vias']],
  ['call-id', ['callId']],
  ['cseq', ['cseq']],
  ['from', ['from']],
  ['to', ['to']],
  ['max-forwards', ['maxForwards']],
  ['contact', ['contacts']],
  ['expires', ['expires']],
  ['route', ['routes']],
  ['record-route', ['recordRoutes']],
  ['content-length', ['contentLength']],
];
const MEMO_SOURCES: ReadonlyMap<string, readonly number[]> = new Map(DERIVED.map(([header, keys]) => [header, keys.map((k) => SLOT[k])]));

export class Headers implements Iterable<[string, string]> {
  private fields: HeaderField[];
  /** true once any field was added, removed or replaced after parsing */
  modified = false;
  /** Derived values by slot (see SLOT): fixed slots, so a lookup neither hashes nor grows a table. */
  private memo: unknown[] | null = null;

  constructor(fields: HeaderField[] = []) {
    this.fields = fields;
  }

  /** Builds a header section from [name, value] pairs (for messages the stack creates). */
  static from(pairs: Iterable<readonly [string, string]>): Headers {
    const h = new Headers();
    for (const [n, v] of pairs) h.fields.push(makeField(n, v));
    h.modified = true;
    return h;
  }

  /** The fields in order; the serializer reads byte ranges from them. */
  list(): readonly HeaderField[] {
    return this.fields;
  }

  get size(): number {
    return this.fields.length;
  }

  /**
   * Marks the section modified and forgets what was derived from header `key` (lower-case full name).
   * Values derived from other headers stay cached: a proxy that stamps the top Via or prepends a
   * Record-Route must not make From/To/CSeq be parsed again.
   */
  private touch(key: string): void {
    this.modified = true;
    const memo = this.memo;
    if (memo === null) return;
    const derived = MEMO_SOURCES.get(key);
    if (derived === undefined) return;
    for (const slot of derived) memo[slot] = UNSET;
  }

  /**
   * Caches a derived value until the header it is derived from changes (lazy header parsing, one
   * parse per message). `key` must be one of the MEMO_SOURCES names, or one derived from no header
   * (the Request-URI). `compute` takes `source` rather than closing over it, so a cached call
   * allocates nothing.
   */
  memoize<T, S>(key: MemoKey, compute: (source: S) => T, source: S): T {
    const memo = this.memo ?? (this.memo = new Array<unknown>(SLOTS).fill(UNSET));
    const slot = SLOT[key];
    const hit = memo[slot];
    if (hit !== UNSET) return hit as T;
    const v = compute(source);
    memo[slot] = v;
    return v;
  }

  /** The cached value for `key`, or undefined when none is cached. */
  peek(key: MemoKey): unknown {
    const hit = this.memo?.[SLOT[key]];
    return hit === UNSET ? undefined : hit;
  }

  /**
   * Caches `value` as what `key`'s accessor would parse from the current headers: for a caller that
   * has just written a header from an object it holds (a stamped Via), so it is not parsed back.
   */
  remember(key: MemoKey, value: unknown): void {
    const memo = this.memo ?? (this.memo = new Array<unknown>(SLOTS).fill(UNSET));
    memo[SLOT[key]] = value;
  }

  /** Forgets every parsed value (memory); the accessors parse again when asked. */
  releaseCache(): void {
    this.memo = null;
  }

  has(name: string): boolean {
    const key = headerName(name).key;
    for (const f of this.fields) if (f.key === key) return true;
    return false;
  }

  /**
   * First value: for list headers (Via, Route, Contact, ...) the first comma-separated element of the first
   * line, otherwise the first line's whole value.
   */
  get(name: string): string | undefined {
    const key = headerName(name).key;
    for (const f of this.fields) {
      if (f.key !== key) continue;
      if (!isListHeader(key)) return f.value;
      const value = f.value;
      if (value.indexOf(',') < 0) {
        // One element (the common case): what splitTopLevel would return, without its array.
        const only = value.trim();
        if (only !== '') return only;
        continue;
      }
      const first = firstTopLevel(value);
      if (first !== '') return first;
    }
    return undefined;
  }

  /** Every value in order; list headers are split on top-level commas (not inside quotes or <>). */
  getAll(name: string): string[] {
    const key = headerName(name).key;
    const out: string[] = [];
    const list = isListHeader(key);
    for (const f of this.fields) {
      if (f.key !== key) continue;
      if (!list) out.push(f.value);
      else if (f.value.indexOf(',') < 0) {
        const only = f.value.trim();
        if (only !== '') out.push(only);
      } else for (const v of splitTopLevel(f.value)) if (v !== '') out.push(v);
    }
    return out;
  }

  /** Each line's whole value, unsplit. */
  getLines(name: string): string[] {
    const key = headerName(name).key;
    const out: string[] = [];
    for (const f of this.fields) if (f.key === key) out.push(f.value);
    return out;
  }

  /** Replaces every line of `name` with one line holding `value`, at the position of the first. */
  set(name: string, value: string): void {
    const nf = makeField(name, value);
    const idx = this.indexOfKey(nf.key);
    if (idx < 0) {
      this.fields.push(nf);
    } else {
      // Later lines of the name go (a single one, as for Max-Forwards, is replaced in place); the
      // first keeps its index, since nothing before it is removed.
      let more = false;
      for (let i = idx + 1; i < this.fields.length && !more; i++) more = this.fields[i].key === nf.key;
      if (more) this.fields = this.fields.filter((f, i) => i === idx || f.key !== nf.key);
      this.fields[idx] = nf;
    }
    this.touch(nf.key);
  }

  /** Adds a line after the last line of the same name (or at the end). */
  append(name: string, value: string): void {
    const nf = makeField(name, value);
    let at = -1;
    for (let i = 0; i < this.fields.length; i++) if (this.fields[i].key === nf.key) at = i;
    if (at < 0) this.fields.push(nf);
    else this.fields.splice(at + 1, 0, nf);
    this.touch(nf.key);
  }

  /**
   * Appends an existing field as is (it keeps its original bytes). Used to copy headers from a received
   * message into a response (RFC 3261 §8.2.6.2 copies Via, From, Call-ID, CSeq verbatim).
   */
  appendField(field: HeaderField): void {
    this.fields.push(field);
    this.touch(field.key);
  }

  /** Adds a line that becomes the topmost value of `name` (a new Via or Record-Route, RFC 3261 §16.6). */
  prepend(name: string, value: string): void {
    const nf = makeField(name, value);
    const at = this.indexOfKey(nf.key);
    this.fields.splice(at < 0 ? 0 : at, 0, nf);
    this.touch(nf.key);
  }

  /** Removes every line of `name`; returns how many were removed. */
  remove(name: string): number {
    const key = headerName(name).key;
    // Usually there is none (a script dropping pre-loaded Routes): then the list is left as it is.
    if (this.indexOfKey(key) < 0) return 0;
    const before = this.fields.length;
    this.fields = this.fields.filter((f) => f.key !== key);
    this.touch(key);
    return before - this.fields.length;
  }

  /**
   * Pops the topmost value (RFC 3261 §16.7 step 3 / §18.1.2: the top Via; §16.4: the top Route). When that
   * line carries several comma-separated values only the first is taken off. Returns the removed value.
   */
  removeFirstValue(name: string): string | undefined {
    const key = headerName(name).key;
    const idx = this.indexOfKey(key);
    if (idx < 0) return undefined;
    const f = this.fields[idx];
    if (isListHeader(key)) {
      const value = f.value;
      // One value on the line (the common case): the line goes, as `get` reads it.
      const parts = value.indexOf(',') < 0 ? [value.trim()] : splitTopLevel(value).filter((v) => v !== '');
      if (parts.length > 1) {
        this.fields[idx] = new HeaderField(f.name, f.key, safeValue(parts.slice(1).join(', ')));
        this.touch(key);
        return parts[0];
      }
      this.fields.splice(idx, 1);
      this.touch(key);
      return parts[0] ?? '';
    }
    this.fields.splice(idx, 1);
    this.touch(key);
    return f.value;
  }

  private indexOfKey(key: string): number {
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) if (fields[i].key === key) return i;
    return -1;
  }

  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const f of this.fields) yield [f.name, f.value];
  }

  /** A copy sharing no mutable state (fields are immutable, so they are shared). */
  clone(): Headers {
    const h = new Headers(this.fields.slice());
    h.modified = this.modified;
    // The copy has the same fields, so what was parsed from them holds for it too (a forwarded
    // copy's From, To, CSeq and Call-ID are not parsed again); its own changes clear its own slots.
    // Parsed values are shared like the fields: the one in-place change, the §18.2.1 stamp of a
    // received request's top Via, happens on arrival, before anything copies the request.
    if (this.memo !== null) h.memo = this.memo.slice();
    return h;
  }
}
