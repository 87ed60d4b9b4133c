/**
 * Record schemas: every record kind is described once here, and the CSV
 * header, the NDJSON key order and the README's column reference are all
 * derived from that description (Zeek's `##` field docs, tcp-info's `csv:`
 * tags).
 */

export type FieldType = 'string' | 'int' | 'float' | 'bool' | 'time' | 'seconds';

export interface FieldDef {
  name: string;
  type: FieldType;
  /** What the value means, with caveats. */
  doc: string;
  /** Whose vocabulary the name follows: zeek, tshark, tcptrace, tcpeek, datadog, community-id, tcpkit. */
  vocab: 'zeek' | 'tshark' | 'tcptrace' | 'tcpeek' | 'datadog' | 'community-id' | 'goprobe' | 'tcpkit';
}

export interface RecordSchema {
  /** Value of the `record` key in NDJSON output. */
  kind: string;
  doc: string;
  fields: readonly FieldDef[];
}

/** A record: values keyed by field name; null = not applicable / unknown. */
export type RecordValues = Record<string, string | number | boolean | null>;

/** CSV header names (the field names, in order). */
export function columns(schema: RecordSchema): string[] {
  return schema.fields.map((f) => f.name);
}

const JSON_SAFE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(s: string): string {
  return JSON_SAFE.test(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * One NDJSON line (without the newline) with keys in schema order. `time` and
 * `seconds` values are exact decimal strings and are written as JSON numbers.
 */
export function toJsonLine(schema: RecordSchema, r: RecordValues): string {
  const plan = jsonPlan(schema);
  let out = plan.head;
  const names = plan.names, prefixes = plan.prefixes, kinds = plan.kinds;
  for (let i = 0; i < names.length; i++) {
    const v = r[names[i]!];
    out += prefixes[i]!;
    if (v === null || v === undefined) out += 'null';
    else if (kinds[i] === 1) out += jsonString(String(v));
    else if (kinds[i] === 2) out += v ? 'true' : 'false';
    else out += String(v);
  }
  return out + '}';
}

interface JsonPlan {
  head: string;
  names: string[];
  /** `,"name":` for each field, built once per schema. */
  prefixes: string[];
  /** 0 number/time, 1 string, 2 bool. */
  kinds: Uint8Array;
}

const plans = new WeakMap<RecordSchema, JsonPlan>();

function jsonPlan(schema: RecordSchema): JsonPlan {
  let p = plans.get(schema);
  if (!p) {
    p = {
      head: `{"record":"${schema.kind}"`,
      names: schema.fields.map((f) => f.name),
      prefixes: schema.fields.map((f) => `,"${f.name}":`),
      kinds: Uint8Array.from(schema.fields.map((f) => (f.type === 'string' ? 1 : f.type === 'bool' ? 2 : 0))),
    };
    plans.set(schema, p);
  }
  return p;
}

/** CSV cell text of a value (quoting is the CSV writer's job). */
export function cellText(f: FieldDef, v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (f.type === 'bool') return v ? 'true' : 'false';
  return String(v);
}

/** Markdown table documenting a schema (the README's column reference). */
export function markdownReference(schema: RecordSchema): string {
  const rows = schema.fields.map((f) => `| \`${f.name}\` | ${f.type} | ${f.vocab} | ${f.doc.replace(/\|/g, '\\|')} |`);
  return ['| column | type | vocabulary | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
