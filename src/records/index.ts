/** The registry of record kinds: `record` key value -> schema. */
import type { RecordSchema } from './schema.js';
import { CONN_SCHEMA } from './conn.js';
import { FLOW_SCHEMA } from './flow.js';
import { TUNNEL_SCHEMA } from './tunnel.js';

export { CONN_SCHEMA } from './conn.js';
export { FLOW_SCHEMA } from './flow.js';
export { TUNNEL_SCHEMA } from './tunnel.js';
export * from './schema.js';

export const SCHEMAS: ReadonlyMap<string, RecordSchema> = new Map([
  [CONN_SCHEMA.kind, CONN_SCHEMA],
  [FLOW_SCHEMA.kind, FLOW_SCHEMA],
  [TUNNEL_SCHEMA.kind, TUNNEL_SCHEMA],
]);

/** The key of the metadata line that opens tcpkit archives: {"tcpkit": {...}}. */
export const META_KEY = 'tcpkit';
