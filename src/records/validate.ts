/**
 * Checks the values of a record read back from NDJSON against its schema:
 * the type of each field the schema knows, and a range that real values keep
 * (counters are whole numbers from 0 to 2^53 - 1, the largest a double holds
 * exactly; times and durations are finite and within 3,000 years of the
 * epoch; milliseconds are finite and below 10^12, 31 years). null is always
 * accepted (not applicable, or not analysed); fields the schema does not know
 * are left alone. A record that fails is rejected whole by the caller, so one
 * forged value (2^64 packets, an RTT of 1e308 ms) cannot turn a summary into
 * `Infinity` or lose precision in every total.
 */
import type { FieldType, RecordSchema, RecordValues } from './schema.js';

const MAX_EPOCH_S = 1e11;
const MAX_MS = 1e12;

function check(type: FieldType, v: unknown): string | null {
  switch (type) {
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'a whole number from 0 to 2^53 - 1';
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < MAX_MS ? null : 'a finite number of milliseconds below 10^12';
    case 'time':
      return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < MAX_EPOCH_S ? null : 'a time in seconds since the epoch (0 to 10^11)';
    case 'seconds':
      return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < MAX_EPOCH_S ? null : 'a finite number of seconds below 10^11';
    case 'bool':
      return typeof v === 'boolean' ? null : 'true or false';
    case 'string':
      return typeof v === 'string' ? null : 'a string';
    case 'list':
      return Array.isArray(v) || typeof v === 'string' ? null : 'a list';
  }
}

/** Why `r` is not a valid record of `schema` (the first field that fails, as `field: value is not ...`), or null. */
export function invalidField(schema: RecordSchema, r: RecordValues): string | null {
  for (const f of schema.fields) {
    const v = r[f.name];
    if (v === null || v === undefined) continue;
    const want = check(f.type, v);
    if (want !== null) {
      const shown = typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) : String(v);
      return `${f.name}: ${shown} is not ${want}`;
    }
  }
  return null;
}
