/**
 * What kind of NDJSON a line is, decided from the first line of an input:
 * - 'tcpinfo': an m-lab ArchivalRecord: an object with a Timestamp key plus
 *   RawIDM or Metadata (keys matched as Go does, case-insensitively);
 * - 'tcpkit': a tcpkit record (`{"record":"conn",...}`) or a tcpkit
 *   metadata line (`{"tcpkit":{...}}`);
 * - 'unknown': anything else, including invalid JSON.
 */
import { J_OBJECT, keyMatches, parseGoJson, unquoteGo } from './go-json.js';

export type LineKind = 'tcpinfo' | 'tcpkit' | 'unknown';

export function detectLineKind(b: Uint8Array, start: number, end: number): LineKind {
  let root;
  try {
    root = parseGoJson(b, start, end);
  } catch {
    return 'unknown';
  }
  if (root.type !== J_OBJECT) return 'unknown';
  let ts = false;
  let idmOrMeta = false;
  let tcpkit = false;
  for (const { key, value } of root.entries!) {
    const k = unquoteGo(b, key);
    if (keyMatches(k, 'timestamp')) ts = true;
    else if (keyMatches(k, 'rawidm') || keyMatches(k, 'metadata')) idmOrMeta = true;
    const exact = Buffer.from(k).toString('utf8');
    if (exact === 'record' || (exact === 'tcpkit' && value.type === J_OBJECT)) tcpkit = true;
  }
  if (ts && idmOrMeta) return 'tcpinfo';
  if (tcpkit) return 'tcpkit';
  return 'unknown';
}
