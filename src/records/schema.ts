/**
 * Record schemas: every record kind is described once here, and the CSV
 * header, the NDJSON key order and the README's column reference are all
 * derived from that description (Zeek's `##` field docs, tcp-info's `csv:`
 * tags).
 */

/**
 * `list`: several strings or numbers (Zeek's vector/set fields such as
 * dns.log `answers`): a JSON array in NDJSON, the elements joined by `,` in
 * CSV (Zeek's set separator in its TSV logs).
 */
export type FieldType = 'string' | 'int' | 'float' | 'bool' | 'time' | 'seconds' | 'list';

export interface FieldDef {
  name: string;
  type: FieldType;
  /** What the value means, with caveats. */
  doc: string;
  /** Whose vocabulary the name follows: zeek, tshark, tcptrace, tcpeek, datadog, community-id, goprobe, ja3/ja4 (their authors' specifications), tcpkit. */
  vocab: 'zeek' | 'tshark' | 'tcptrace' | 'tcpeek' | 'datadog' | 'community-id' | 'goprobe' | 'ja3' | 'ja4' | 'tcpkit';
  /** The only values a string field takes (besides empty and null), for checking `--where` constants. */
  values?: readonly string[];
  /** Element type of a `list` field (default string): what typed stores (DuckDB, Parquet, BigQuery) hold. */
  items?: 'string' | 'int';
}

export interface RecordSchema {
  /** Value of the `record` key in NDJSON output. */
  kind: string;
  doc: string;
  fields: readonly FieldDef[];
}

/** One value of a record; arrays only in `list` fields. */
export type RecordValue = string | number | boolean | null | readonly (string | number)[];

/** A record: values keyed by field name; null = not applicable / unknown. */
export type RecordValues = Record<string, RecordValue>;

/** CSV header names (the field names, in order). */
export function columns(schema: RecordSchema): string[] {
  return schema.fields.map((f) => f.name);
}

/** A JSON string literal; printable ASCII other than `"` and `\` is copied as is (a loop: faster than a RegExp on these short values). */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/**
 * One NDJSON line (without the newline) with keys in schema order. `time` and
 * `seconds` values are exact decimal strings and are written as JSON numbers.
 */
export function toJsonLine(schema: RecordSchema, r: RecordValues): string {
  return compiled(schema).toJson(r);
}

/**
 * The text String(v) gives, faster for the values float fields hold: numbers
 * rounded to 6 decimals (RTTs in ms). When v is the double nearest to m/10^6
 * for an integer m and |v| < 2^31, that text is m/10^6 written out with
 * trailing zeros dropped: it round-trips to v, and no decimal with fewer
 * digits does, because any such decimal is another multiple of 10^-6, at
 * least 10^-6 away, while doubles below 2^31 are less than 10^-6 apart (so
 * two such decimals never round to the same double). Other values take
 * String(v).
 */
export function floatText(v: number): string {
  const m = Math.round(v * 1e6);
  if (m / 1e6 !== v || !(v < 2147483648 && v > -2147483648)) return String(v);
  const neg = m < 0;
  const a = neg ? -m : m;
  const whole = Math.floor(a / 1e6);
  let frac = a - whole * 1e6;
  if (frac === 0) return (neg ? '-' : '') + whole;
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const f = String(frac);
  return (neg ? '-' : '') + whole + '.' + ZEROS.slice(0, digits - f.length) + f;
}

const ZEROS = '000000';

/** A record with every field of the schema set to null, in schema order (one hidden class per schema). */
export function emptyRecord(schema: RecordSchema): RecordValues {
  return compiled(schema).empty();
}

/** Some of a record's values in a fixed order (how they cross between threads: cheaper to copy than an object). */
export type RecordRow = RecordValue[];

interface Compiled {
  empty: () => RecordValues;
  toJson: (r: RecordValues) => string;
}

const compiledBySchema = new WeakMap<RecordSchema, Compiled>();

/** Fields per group in the generated NDJSON serializer (an all-null or all-zero group is one constant). */
const NULL_GROUP = 8;

/**
 * Per-schema code, generated once from the field list: a constructor that
 * creates every field (so all records share one shape) and a serializer that
 * is one string expression per field (the fastest way V8 builds the line).
 * Field names are checked to be identifiers before they reach generated code.
 */
function compiled(schema: RecordSchema): Compiled {
  let c = compiledBySchema.get(schema);
  if (c) return c;
  for (const f of schema.fields) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name)) throw new Error(`record field name ${JSON.stringify(f.name)} is not an identifier`);
  }
  const empty = new Function(`return {${schema.fields.map((f) => `${f.name}: null`).join(', ')}};`) as () => RecordValues;
  const parts = schema.fields.map((f, i) => {
    const v = `r.${f.name}`;
    const key = JSON.stringify(`${i === 0 ? '' : ','}"${f.name}":`);
    const val =
      f.type === 'string' ? `str(${v})` : f.type === 'bool' ? `(${v} ? 'true' : 'false')` : f.type === 'float' ? `flt(${v})` : f.type === 'list' ? `JSON.stringify(${v})` : `String(${v})`;
    return `${key} + (${v} === null || ${v} === undefined ? 'null' : ${val})`;
  });
  // Fields go in groups; a group whose values are all null is one constant
  // (a flows-mode record has ~100 null analysis fields: its line is built
  // about twice as fast).
  // A group of numeric fields that are all zero (most of the full analysis'
  // per-class counters) is a constant too.
  const groups: string[] = [];
  for (let g = 0; g < parts.length; g += NULL_GROUP) {
    const fields = schema.fields.slice(g, g + NULL_GROUP);
    const names = fields.map((f) => f.name);
    const text = (v: string): string => JSON.stringify(names.map((n, k) => `${g + k === 0 ? '' : ','}"${n}":${v}`).join(''));
    const allNull = names.map((n) => `r.${n} == null`).join(' && ');
    let body = parts.slice(g, g + NULL_GROUP).join(' + ');
    if (fields.every((f) => f.type === 'int' || f.type === 'float')) {
      body = `(${names.map((n) => `r.${n} === 0`).join(' && ')} ? ${text('0')} : ${body})`;
    }
    groups.push(`(${allNull} ? ${text('null')} : ${body})`);
  }
  const body = `return ${JSON.stringify(`{"record":"${schema.kind}",`)} + ${groups.join(' + ')} + '}';`;
  const toJson = new Function('str', 'flt', `return function (r) { ${body} };`)(
    (x: unknown) => jsonString(String(x)),
    (x: unknown) => (typeof x === 'number' ? floatText(x) : String(x)),
  ) as (r: RecordValues) => string;
  c = { empty, toJson };
  compiledBySchema.set(schema, c);
  return c;
}

/** CSV cell text of a value (quoting is the CSV writer's job). */
export function cellText(f: FieldDef, v: RecordValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (f.type === 'bool') return v ? 'true' : 'false';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** Markdown table documenting a schema (the README's column reference). */
export function markdownReference(schema: RecordSchema): string {
  const rows = schema.fields.map((f) => `| \`${f.name}\` | ${f.type} | ${f.vocab} | ${f.doc.replace(/\|/g, '\\|')} |`);
  return ['| column | type | vocabulary | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
