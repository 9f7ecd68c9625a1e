/**
 * A tiny typed schema vocabulary: each field decodes one raw YAML value at a key path into a typed
 * value (or throws ConfigIssue), and knows its default. Sections compose these; `Infer` gives the
 * resulting TypeScript type so no config consumer ever sees `unknown` or `any`.
 */
import { ConfigIssue } from './config-error.js';

export interface Field<T> {
  /** `raw` is `undefined` when the key is absent. */
  decode(raw: unknown, path: string): T;
  /** Human description of the accepted type, used in error reasons. */
  readonly expects: string;
}

export type Infer<F> = F extends Field<infer T> ? T : never;

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  return `${typeof raw} ${JSON.stringify(raw)}`;
}

function wrong(path: string, expects: string, raw: unknown): never {
  throw new ConfigIssue(path, `expected ${expects}, got ${describe(raw)}`);
}

function required(path: string, expects: string): never {
  throw new ConfigIssue(path, `required key missing (expected ${expects})`);
}

export function str(def?: string): Field<string> {
  const expects = 'a string';
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined) return def ?? required(path, expects);
      if (typeof raw !== 'string') return wrong(path, expects, raw);
      return raw;
    },
  };
}

/** A string that may be null/absent (e.g. `log.file`): absent means "not set". */
export function optStr(): Field<string | null> {
  const expects = 'a string or null';
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined || raw === null) return null;
      if (typeof raw !== 'string') return wrong(path, expects, raw);
      return raw;
    },
  };
}

export function int(def: number | undefined, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Field<number> {
  const expects = `an integer in [${min}, ${max}]`;
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined) return def ?? required(path, expects);
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return wrong(path, expects, raw);
      if (raw < min || raw > max) throw new ConfigIssue(path, `${raw} is out of range, expected ${expects}`);
      return raw;
    },
  };
}

export function bool(def?: boolean): Field<boolean> {
  const expects = 'a boolean';
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined) return def ?? required(path, expects);
      if (typeof raw !== 'boolean') return wrong(path, expects, raw);
      return raw;
    },
  };
}

export function oneOf<const V extends string>(values: readonly V[], def?: V): Field<V> {
  const expects = `one of ${values.join(' | ')}`;
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined) return def ?? required(path, expects);
      if (typeof raw !== 'string' || !(values as readonly string[]).includes(raw)) return wrong(path, expects, raw);
      return raw as V;
    },
  };
}

export function list<T>(item: Field<T>, def?: readonly T[]): Field<T[]> {
  const expects = `a list of ${item.expects}`;
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined) return def ? [...def] : required(path, expects);
      if (!Array.isArray(raw)) return wrong(path, expects, raw);
      return raw.map((v: unknown, i) => {
        if (v === undefined || v === null) throw new ConfigIssue(`${path}[${i}]`, `expected ${item.expects}, got null`);
        return item.decode(v, `${path}[${i}]`);
      });
    },
  };
}

export type Shape = Record<string, Field<unknown>>;
export type ObjectOf<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

export function isMapping(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * A mapping with a fixed key set. Unknown keys are refused (a typo must not silently fall back to
 * a default on a live node); absent keys take their field's default.
 */
export function obj<S extends Shape>(shape: S): Field<ObjectOf<S>> {
  const expects = 'a mapping';
  return {
    expects,
    decode(raw, path) {
      const src = raw === undefined || raw === null ? {} : raw;
      if (!isMapping(src)) return wrong(path, expects, raw);
      for (const key of Object.keys(src)) {
        if (!Object.prototype.hasOwnProperty.call(shape, key)) {
          throw new ConfigIssue(join(path, key), `unknown key (known: ${Object.keys(shape).join(', ')})`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(shape)) out[key] = shape[key].decode(src[key], join(path, key));
      return out as ObjectOf<S>;
    },
  };
}

/** First alternative whose `accepts` matches the raw value decodes it (e.g. `bool | {listen}`). */
export function either<A, B>(
  a: Field<A>,
  acceptsA: (raw: unknown) => boolean,
  b: Field<B>,
  def: A | B,
): Field<A | B> {
  const expects = `${a.expects} or ${b.expects}`;
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined) return def;
      if (acceptsA(raw)) return a.decode(raw, path);
      if (isMapping(raw)) return b.decode(raw, path);
      return wrong(path, expects, raw);
    },
  };
}

/** Post-check a decoded value (cross-field rules); `check` returns a reason or null. */
export function refine<T>(field: Field<T>, check: (v: T) => string | null): Field<T> {
  return {
    expects: field.expects,
    decode(raw, path) {
      const v = field.decode(raw, path);
      const reason = check(v);
      if (reason !== null) throw new ConfigIssue(path, reason);
      return v;
    },
  };
}
