/** The registry of record kinds: `record` key value -> schema. */
import type { FieldDef, RecordSchema } from './schema.js';
import { CONN_SCHEMA } from './conn.js';
import { FLOW_SCHEMA } from './flow.js';
import { HTTP_SCHEMA } from './http.js';
import { DNS_SCHEMA } from './dns.js';
import { SSL_SCHEMA } from './ssl.js';
import { TUNNEL_SCHEMA } from './tunnel.js';
import { REDIS_SCHEMA } from './redis.js';
import { MONGODB_SCHEMA } from './mongodb.js';
import { MYSQL_SCHEMA } from './mysql.js';
import { POSTGRESQL_SCHEMA } from './postgresql.js';

export { CONN_SCHEMA } from './conn.js';
export { FLOW_SCHEMA } from './flow.js';
export { HTTP_SCHEMA } from './http.js';
export { DNS_SCHEMA } from './dns.js';
export { SSL_SCHEMA } from './ssl.js';
export { TUNNEL_SCHEMA } from './tunnel.js';
export { REDIS_SCHEMA } from './redis.js';
export { MONGODB_SCHEMA } from './mongodb.js';
export { MYSQL_SCHEMA } from './mysql.js';
export { POSTGRESQL_SCHEMA } from './postgresql.js';
export * from './schema.js';

/** Every record kind tcpkit writes: connections and flows, then the application transactions. */
export const SCHEMAS: ReadonlyMap<string, RecordSchema> = new Map([
  [CONN_SCHEMA.kind, CONN_SCHEMA],
  [FLOW_SCHEMA.kind, FLOW_SCHEMA],
  [HTTP_SCHEMA.kind, HTTP_SCHEMA],
  [DNS_SCHEMA.kind, DNS_SCHEMA],
  [SSL_SCHEMA.kind, SSL_SCHEMA],
  [TUNNEL_SCHEMA.kind, TUNNEL_SCHEMA],
  [REDIS_SCHEMA.kind, REDIS_SCHEMA],
  [MONGODB_SCHEMA.kind, MONGODB_SCHEMA],
  [MYSQL_SCHEMA.kind, MYSQL_SCHEMA],
  [POSTGRESQL_SCHEMA.kind, POSTGRESQL_SCHEMA],
]);

/**
 * Every field of every record kind, once (the first kind to define a name
 * gives its type; where two kinds share a name they share its type): what
 * `--where`, `--by` and the other field-naming options accept. A record
 * without a field reads it as null.
 */
export const ALL_FIELDS: readonly FieldDef[] = (() => {
  const seen = new Map<string, FieldDef>();
  for (const s of SCHEMAS.values()) for (const f of s.fields) if (!seen.has(f.name)) seen.set(f.name, f);
  return [...seen.values()];
})();

/**
 * The version of the record schemas, written in every archive's metadata
 * line (`schema_version`). Policy (README, "Record schemas and
 * compatibility"): adding a field does not change it; removing or renaming
 * a field, or changing what a field means or its unit, raises it. Readers
 * should take columns by name (the CSV header, the NDJSON keys), not by
 * position: new fields may appear anywhere in a kind's order.
 */
export const SCHEMA_VERSION = 2;

/** The key of the metadata line that opens tcpkit archives: {"tcpkit": {...}}. */
export const META_KEY = 'tcpkit';
