/**
 * Client-side binding of `{name:Type}` placeholders to ClickHouse SQL literals.
 *
 * ClickHouse 18.16 has no server-side query parameters (`param_*` is an unknown setting), so
 * values must become literals. Every value is checked against its declared type and rendered
 * in a form that can only ever be one literal of that type: strings are escaped byte-exactly
 * (backslash escapes for \ ' and every control character), numbers are range-checked, dates
 * are re-formatted from validated parts. A value that does not fit its type is an error, never
 * a coercion. The same SQL text runs unchanged on a modern server, where the placeholders are
 * native syntax.
 */

export type BindValue = string | number | bigint | boolean | Date | null | readonly BindValue[];
export type BindParams = Readonly<Record<string, BindValue | undefined>>;

export class BindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BindError';
  }
}

type ParsedType =
  | { kind: 'string' }
  | { kind: 'fixedstring'; bytes: number }
  | { kind: 'int'; bits: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: 'float' }
  | { kind: 'date' }
  | { kind: 'datetime' }
  | { kind: 'uuid' }
  | { kind: 'identifier' }
  | { kind: 'nullable'; inner: ParsedType }
  | { kind: 'array'; inner: ParsedType };

const typeCache = new Map<string, ParsedType>();

/** Parses a ClickHouse type name as written in a placeholder (whitespace-tolerant). */
export function parseType(raw: string): ParsedType {
  const t = raw.trim();
  const cached = typeCache.get(t);
  if (cached) return cached;
  const parsed = parseTypeUncached(t);
  typeCache.set(t, parsed);
  return parsed;
}

function parseTypeUncached(t: string): ParsedType {
  const wrap = /^(Nullable|Array|LowCardinality)\s*\((.*)\)$/s.exec(t);
  if (wrap) {
    const inner = parseType(wrap[2]);
    if (wrap[1] === 'LowCardinality') return inner; // storage detail; same literal as the inner type
    if (wrap[1] === 'Nullable') {
      if (inner.kind === 'nullable' || inner.kind === 'array') throw new BindError(`type ${t}: Nullable cannot wrap ${wrap[2].trim()}`);
      return { kind: 'nullable', inner };
    }
    return { kind: 'array', inner };
  }
  const int = /^(U?)Int(8|16|32|64)$/.exec(t);
  if (int) return { kind: 'int', bits: Number(int[2]) as 8 | 16 | 32 | 64, signed: int[1] === '' };
  const fixed = /^FixedString\s*\(\s*(\d+)\s*\)$/.exec(t);
  if (fixed) return { kind: 'fixedstring', bytes: Number(fixed[1]) };
  if (/^DateTime(\s*\(\s*'UTC'\s*\))?$/.test(t)) return { kind: 'datetime' };
  switch (t) {
    case 'String':
      return { kind: 'string' };
    case 'Float32':
    case 'Float64':
      return { kind: 'float' };
    case 'Date':
      return { kind: 'date' };
    case 'UUID':
      return { kind: 'uuid' };
    case 'Identifier':
      return { kind: 'identifier' };
    default:
      throw new BindError(`unsupported placeholder type '${t}'`);
  }
}

/** Substitutes every `{name:Type}` outside quotes and comments; rejects missing and unused parameters. */
export function bindQuery(sql: string, params: BindParams = {}): string {
  const used = new Set<string>();
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      const end = skipQuoted(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const end = nl === -1 ? n : nl;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) throw new BindError('unterminated /* comment in query');
      out += sql.slice(i, close + 2);
      i = close + 2;
    } else if (c === '{') {
      const m = /^\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/.exec(sql.slice(i));
      if (!m) throw new BindError(`malformed placeholder at offset ${i}: ${sql.slice(i, i + 30)}`);
      const [whole, name, type] = m;
      if (!Object.prototype.hasOwnProperty.call(params, name) || params[name] === undefined) throw new BindError(`no value for parameter '${name}'`);
      out += literal(parseType(type), params[name] as BindValue, name);
      used.add(name);
      i += whole.length;
    } else {
      out += c;
      i++;
    }
  }
  const unused = Object.keys(params).filter((k) => !used.has(k) && params[k] !== undefined);
  if (unused.length > 0) throw new BindError(`parameters not used by the query: ${unused.join(', ')}`);
  return out;
}

/** Index just past the closing quote; backslash escapes and doubled quotes stay inside. */
function skipQuoted(sql: string, start: number, q: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql[i];
    if (c === '\\') i++;
    else if (c === q) {
      if (sql[i + 1] === q) i++;
      else return i + 1;
    }
  }
  throw new BindError(`unterminated ${q} quote in query`);
}

const INT_RANGE: Record<string, readonly [bigint, bigint]> = {
  u8: [0n, 255n],
  u16: [0n, 65535n],
  u32: [0n, 4294967295n],
  u64: [0n, 18446744073709551615n],
  s8: [-128n, 127n],
  s16: [-32768n, 32767n],
  s32: [-2147483648n, 2147483647n],
  s64: [-9223372036854775808n, 9223372036854775807n],
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'Date';
  return typeof v;
}

function literal(t: ParsedType, v: BindValue, name: string): string {
  const fail = (why: string): never => {
    throw new BindError(`parameter '${name}': ${why}`);
  };
  if (v === null) {
    if (t.kind !== 'nullable') fail('null for a non-Nullable type');
    return 'NULL';
  }
  switch (t.kind) {
    case 'nullable':
      return literal(t.inner, v, name);
    case 'array':
      if (!Array.isArray(v)) return fail(`expected an array, got ${describe(v)}`);
      return `[${(v as readonly BindValue[]).map((x) => literal(t.inner, x, name)).join(', ')}]`;
    case 'string':
      if (typeof v !== 'string') return fail(`expected a string, got ${describe(v)}`);
      return quoteString(v, name);
    case 'fixedstring': {
      if (typeof v !== 'string') return fail(`expected a string, got ${describe(v)}`);
      if (Buffer.byteLength(v, 'utf8') > t.bytes) fail(`longer than FixedString(${t.bytes})`);
      return quoteString(v, name);
    }
    case 'int': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number') {
        if (!Number.isSafeInteger(v)) return fail(`expected an integer, got ${v}`);
        b = BigInt(v);
      } else if (typeof v === 'string' && /^-?(0|[1-9]\d*)$/.test(v)) b = BigInt(v);
      else return fail(`expected an integer, got ${describe(v)}`);
      const [lo, hi] = INT_RANGE[`${t.signed ? 's' : 'u'}${t.bits}`];
      if (b < lo || b > hi) fail(`${b} out of range for ${t.signed ? '' : 'U'}Int${t.bits}`);
      return b.toString();
    }
    case 'float':
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`expected a finite number, got ${describe(v) === 'number' ? String(v) : describe(v)}`);
      // toFloat64 keeps an integral value (say 3) a float, and a sign inside the call binds tightly.
      return `toFloat64(${Object.is(v, -0) ? '-0' : String(v)})`;
    case 'date':
      return `toDate('${dateText(v, fail)}')`;
    case 'datetime':
      return `toDateTime('${dateTimeText(v, fail)}', 'UTC')`;
    case 'uuid':
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(v)) return fail('expected a UUID string');
      return `toUUID('${v.toLowerCase()}')`;
    case 'identifier':
      if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(v)) return fail('expected a plain identifier ([A-Za-z_][A-Za-z0-9_]*, optionally db.table)');
      return v
        .split('.')
        .map((p) => `\`${p}\``)
        .join('.');
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A ClickHouse string literal. Backslash and quote are escaped; every C0 control character
 * and DEL becomes a \xHH escape so NUL, CR and LF travel as data. Lone UTF-16 surrogates are
 * rejected: they would silently become U+FFFD on the way to UTF-8.
 */
export function quoteString(s: string, name = 'value'): string {
  if (LONE_SURROGATE.test(s)) throw new BindError(`parameter '${name}': string has a lone UTF-16 surrogate`);
  let out = "'";
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + "'";
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function dateText(v: BindValue, fail: (why: string) => never): string {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return fail('invalid Date');
    return `${pad(v.getUTCFullYear(), 4)}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())}`;
  }
  if (typeof v !== 'string') return fail(`expected a Date or 'YYYY-MM-DD', got ${describe(v)}`);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m || !validYmd(+m[1], +m[2], +m[3])) return fail(`not a calendar date: ${JSON.stringify(v)}`);
  return v;
}

function dateTimeText(v: BindValue, fail: (why: string) => never): string {
  let d: Date;
  if (v instanceof Date) d = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0 || v > 4294967295) return fail(`expected unix seconds in UInt32 range, got ${v}`);
    d = new Date(v * 1000);
  } else if (typeof v === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(v);
    if (!m || !validYmd(+m[1], +m[2], +m[3]) || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) return fail(`not 'YYYY-MM-DD hh:mm:ss': ${JSON.stringify(v)}`);
    return v;
  } else return fail(`expected a Date, unix seconds or 'YYYY-MM-DD hh:mm:ss', got ${describe(v)}`);
  if (Number.isNaN(d.getTime())) return fail('invalid Date');
  // DateTime has whole-second precision (UTC); milliseconds are dropped as the server would.
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function validYmd(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}
