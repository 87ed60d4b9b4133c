/** Reading what a report page carries, for the report tests. */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import type { ConnCharts } from '../src/graphs/chart.js';

/** The graph data of a report page (gzip-compressed JSON in base64). */
export function reportData(html: string): { flagNames: string[]; conns: ConnCharts[] } {
  const m = /<script type="application\/octet-stream" id="tcpkit-data" data-encoding="gzip\+base64">([A-Za-z0-9+/=]*)<\/script>/.exec(html);
  assert.ok(m, 'the data element');
  return JSON.parse(gunzipSync(Buffer.from(m[1]!, 'base64')).toString('utf8'));
}
