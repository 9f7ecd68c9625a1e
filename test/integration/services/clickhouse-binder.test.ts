// Pure checks of the {name:Type} binder: no server needed (the round trips against a real
// ClickHouse are in clickhouse.test.ts).
import { BindError, bindQuery } from '../../../projections/clickhouse/index.js';

describe('bindQuery renders typed literals', () => {
  it.each([
    ['{s:String}', { s: "it's" }, "'it\\'s'"],
    ['{s:String}', { s: 'a\\b' }, "'a\\\\b'"],
    ['{s:String}', { s: 'nul\u0000nl\ncr\r' }, "'nul\\x00nl\\x0acr\\x0d'"],
    ['{n:UInt32}', { n: 4294967295 }, '4294967295'],
    ['{n:UInt64}', { n: '18446744073709551615' }, '18446744073709551615'],
    ['{n:Int64}', { n: -9223372036854775808n }, '-9223372036854775808'],
    ['{f:Float64}', { f: 3 }, 'toFloat64(3)'],
    ['{f:Float64}', { f: -1.5 }, 'toFloat64(-1.5)'],
    ['{d:Date}', { d: '2024-02-29' }, "toDate('2024-02-29')"],
    ['{t:DateTime}', { t: new Date('2024-01-02T03:04:05.678Z') }, "toDateTime('2024-01-02 03:04:05', 'UTC')"],
    ['{t:DateTime}', { t: 0 }, "toDateTime('1970-01-01 00:00:00', 'UTC')"],
    ['{u:UUID}', { u: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' }, "toUUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')"],
    ['{x:Nullable(String)}', { x: null }, 'NULL'],
    ['{a:Array(UInt8)}', { a: [1, 2] }, '[1, 2]'],
    ['{a:Array(Nullable(String))}', { a: ['x', null] }, "['x', NULL]"],
    ['{t:Identifier}', { t: 'db1.cdr' }, '`db1`.`cdr`'],
  ])('%s with %p → %s', (sql, params, want) => {
    expect(bindQuery(sql, params)).toBe(want);
  });

  it('leaves placeholder-shaped text inside quotes and comments alone', () => {
    expect(bindQuery("SELECT '{a:String}', `{b:String}` -- {c:String}\n, {d:UInt8} /* {e:String} */", { d: 1 })).toBe(
      "SELECT '{a:String}', `{b:String}` -- {c:String}\n, 1 /* {e:String} */",
    );
    expect(bindQuery("SELECT 'it''s {x:String}', 'a\\'{y:String}'")).toBe("SELECT 'it''s {x:String}', 'a\\'{y:String}'");
  });
});

describe('bindQuery rejects values that do not fit their type', () => {
  it.each([
    ['{s:String}', { s: 42 }, /expected a string/],
    ['{s:String}', { s: null }, /null for a non-Nullable/],
    ['{s:String}', { s: '\uD800x' }, /lone UTF-16 surrogate/],
    ['{s:FixedString(2)}', { s: 'abc' }, /longer than FixedString/],
    ['{n:UInt32}', { n: '42' + "'; DROP TABLE cdr; --" }, /expected an integer/],
    ['{n:UInt32}', { n: -1 }, /out of range/],
    ['{n:UInt32}', { n: 4294967296 }, /out of range/],
    ['{n:Int8}', { n: 128 }, /out of range/],
    ['{n:Int32}', { n: 1.5 }, /expected an integer/],
    ['{n:UInt64}', { n: 2 ** 60 }, /expected an integer/],
    ['{n:UInt32}', { n: true }, /expected an integer/],
    ['{f:Float64}', { f: Number.NaN }, /finite number/],
    ['{f:Float64}', { f: '1.5' }, /finite number/],
    ['{d:Date}', { d: '2023-02-29' }, /not a calendar date/],
    ['{d:Date}', { d: "2024-01-01') OR 1=1 --" }, /not a calendar date/],
    ['{t:DateTime}', { t: '2024-01-01T00:00:00Z' }, /YYYY-MM-DD hh:mm:ss/],
    ['{t:DateTime}', { t: new Date('nope') }, /invalid Date/],
    ['{u:UUID}', { u: "x'; DROP TABLE cdr" }, /UUID/],
    ['{a:Array(UInt8)}', { a: 'not-an-array' }, /expected an array/],
    ['{a:Array(UInt8)}', { a: [1, 256] }, /out of range/],
    ['{t:Identifier}', { t: 'cdr; DROP TABLE cdr' }, /plain identifier/],
    ['{x:Map(String,String)}', { x: 'a' }, /unsupported placeholder type/],
    ['{x:String}', {}, /no value for parameter 'x'/],
    ['SELECT 1', { unused: 'x' }, /not used by the query: unused/],
    ["SELECT '{x:String}", {}, /unterminated/],
    ['SELECT {x}', {}, /malformed placeholder/],
  ])('%s with %p', (sql, params, why) => {
    expect(() => bindQuery(sql, params as Record<string, never>)).toThrow(BindError);
    expect(() => bindQuery(sql, params as Record<string, never>)).toThrow(why);
  });
});
