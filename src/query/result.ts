/**
 * A query's result as tcpkit records, so the other commands' writers (table,
 * NDJSON, CSV) print it: a record schema made from the result's columns and
 * their DuckDB types, and each row's values in the forms those writers take
 * (timestamps as epoch seconds with 9 exact fraction digits, as tcpkit's
 * records write them; 64-bit integers and decimals as exact text).
 */
import type { DuckDBResult, DuckDBType } from '@duckdb/node-api';
import type { FieldDef, RecordSchema, RecordValue, RecordValues } from '../records/schema.js';
import { SCHEMAS } from '../records/index.js';

/** The field type a DuckDB column type prints as. */
export function fieldTypeOf(t: DuckDBType): FieldDef['type'] {
  const s = String(t);
  if (s === 'BOOLEAN') return 'bool';
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(s)) return 'int';
  if (s === 'FLOAT' || s === 'DOUBLE') return 'float';
  if (s.startsWith('DECIMAL')) return 'seconds';
  if (s.startsWith('TIMESTAMP')) return 'time';
  if (s.endsWith('[]')) return 'list';
  return 'string';
}

/** Nanoseconds since the epoch as `seconds.fffffffff`. */
export function nanosText(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** Epoch nanoseconds of a DuckDB timestamp value of any precision. */
function timestampNanos(v: unknown): bigint | null {
  const o = v as { nanos?: bigint; micros?: bigint; millis?: bigint; seconds?: bigint };
  if (typeof o.nanos === 'bigint') return o.nanos;
  if (typeof o.micros === 'bigint') return o.micros * 1000n;
  if (typeof o.millis === 'bigint') return o.millis * 1_000_000n;
  if (typeof o.seconds === 'bigint') return o.seconds * 1_000_000_000n;
  return null;
}

type ToRecord = (v: unknown) => RecordValue;

function valueConverter(type: FieldDef['type']): ToRecord {
  switch (type) {
    case 'bool':
      return (v) => Boolean(v);
    case 'int':
      // bigint stays exact as text; the writers print String(v)
      return (v) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : (v as number));
    case 'float':
      return (v) => v as number;
    case 'seconds':
      return (v) => String(v);
    case 'time':
      return (v) => {
        const ns = timestampNanos(v);
        return ns === null ? String(v) : nanosText(ns);
      };
    case 'list':
      return (v) => {
        const items = (v as { items?: unknown[] }).items ?? [];
        return items.map((x) => (typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x.toString()) : typeof x === 'number' ? x : String(x)));
      };
    default:
      return (v) => (typeof v === 'string' ? v : String(v));
  }
}

/**
 * The record kind a result's rows are: the one kind whose schema has every
 * result column with the same type, `uid` among them (a `SELECT *` or a
 * projection of one view, so the lines read back as that kind's records);
 * else `row`.
 */
export function resultKind(fields: readonly FieldDef[]): string {
  // a record has its connection's uid: without it (an aggregate such as count(*) AS n) it is a row
  if (!fields.some((f) => f.name === 'uid')) return 'row';
  const kinds = [...SCHEMAS.values()].filter((s) => fields.every((f) => s.fields.some((g) => g.name === f.name && g.type === f.type)));
  return kinds.length === 1 ? kinds[0]!.kind : 'row';
}

export interface ResultShape {
  schema: RecordSchema;
  convert: ToRecord[];
}

/** The schema of a result (its column names, deduplicated with `_2`, `_3`...). */
export function resultShape(result: DuckDBResult): ResultShape {
  const names = result.columnNames();
  const types = result.columnTypes();
  const seen = new Map<string, number>();
  const fields: FieldDef[] = names.map((n, i) => {
    let name = n;
    const k = seen.get(n) ?? 0;
    seen.set(n, k + 1);
    if (k > 0) name = `${n}_${k + 1}`;
    return { name, type: fieldTypeOf(types[i]!), vocab: 'tcpkit', doc: `result column ${n}` };
  });
  const kind = resultKind(fields);
  return { schema: { kind, doc: 'query result', fields }, convert: fields.map((f) => valueConverter(f.type)) };
}

/** Streams the rows of a result as records, a chunk at a time. */
export async function* resultRecords(result: DuckDBResult, shape: ResultShape): AsyncGenerator<RecordValues[]> {
  const fields = shape.schema.fields;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return;
    const cols = chunk.getColumns();
    const out: RecordValues[] = [];
    for (let r = 0; r < chunk.rowCount; r++) {
      const rec: RecordValues = {};
      for (let c = 0; c < fields.length; c++) {
        const v = cols[c]![r];
        rec[fields[c]!.name] = v === null || v === undefined ? null : shape.convert[c]!(v);
      }
      out.push(rec);
    }
    yield out;
  }
}
