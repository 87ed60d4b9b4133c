/** The registry of record kinds: `record` key value -> schema. */
import type { RecordSchema } from './schema.js';
import { CONN_SCHEMA } from './conn.js';

export { CONN_SCHEMA } from './conn.js';
export * from './schema.js';

export const SCHEMAS: ReadonlyMap<string, RecordSchema> = new Map([[CONN_SCHEMA.kind, CONN_SCHEMA]]);

/** The key of the metadata line that opens tcpkit archives: {"tcpkit": {...}}. */
export const META_KEY = 'tcpkit';
