/**
 * The terminal table layout (src/output/table.ts): columns chosen by
 * importance to fit any width, cells shortened the column's way (the port of
 * an endpoint always stays), numbers with sensible precision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cutCell, fitColumns, fmtCount, fmtMs, fmtSeconds, renderTable, schemaColumns, type Column } from '../src/output/table.js';
import { CONN_TABLE_COLUMNS } from '../src/output/writers.js';
import { CONN_SCHEMA, FLOW_SCHEMA } from '../src/records/index.js';

test('milliseconds keep their significant digits: 0.039 stays 0.039, not 0.0', () => {
  assert.deepEqual([0.039, 0.0042, 0.5, 1.2549, 13.14, 225.4, 1000.7, 0, null].map(fmtMs), ['0.039', '0.0042', '0.5', '1.25', '13.1', '225', '1001', '0', '-']);
  assert.deepEqual(['0.000012000', '1.250000000', '42.7', '3601.2'].map(fmtSeconds), ['0.000', '1.250', '42.7', '3601']);
  assert.deepEqual([950, 9999, 12345, 4_560_000, 1_200_000_000].map(fmtCount), ['950', '9999', '12.3k', '4.56M', '1.20G']);
});

test('an endpoint is shortened in the middle of its address, never losing its port', () => {
  assert.equal(cutCell('[2001:4958:15a0:24:c1b3:b766:7fff:d0b3]:59856', 24, 'endpoint'), '[2001:49…fff:d0b3]:59856');
  assert.equal(cutCell('192.168.100.200:54321', 16, 'endpoint'), '192.1….200:54321');
  assert.equal(cutCell('10.0.0.1:80', 20, 'endpoint'), '10.0.0.1:80');
  fc.assert(
    fc.property(fc.ipV6(), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 9, max: 60 }), (addr, port, w) => {
      const cell = cutCell(`[${addr}]:${port}`, w, 'endpoint');
      assert.ok(cell.length <= w);
      assert.ok(cell.endsWith(`]:${port}`), cell);
    }),
  );
  assert.equal(cutCell('2026-11-23 17:16:49.045', 13, 'start'), '…17:16:49.045');
  assert.equal(cutCell('fe80::c8b2:4cff:fe7b:af65', 15, 'middle'), 'fe80::c…7b:af65');
});

test('the columns fit every width: the most important kept, the endpoints at least wide enough for an IPv4 address and port', () => {
  for (let w = 60; w <= 260; w++) {
    const laid = fitColumns(CONN_TABLE_COLUMNS, w);
    const total = laid.reduce((a, l) => a + l.width, 0) + 2 * (laid.length - 1);
    assert.ok(total <= w, `${w}: ${total}`);
    const titles = laid.map((l) => l.col.title);
    assert.ok(titles.includes('originator') && titles.includes('responder') && titles.includes('state') && titles.includes('rtt ms'), `${w}: ${titles}`);
    for (const l of laid) assert.ok(l.width >= Math.min(l.col.min, l.col.width), `${w}: ${l.col.title} ${l.width}`);
    // a more important column is never left out for a less important one
    const shown = new Set(titles);
    for (const c of CONN_TABLE_COLUMNS) {
      if (shown.has(c.title) || c.optional) continue;
      for (const l of laid) assert.ok(l.col.priority <= c.priority || l.col.min < c.min, `${w}: ${c.title} left out, ${l.col.title} kept`);
    }
  }
  assert.equal(fitColumns(CONN_TABLE_COLUMNS, 200).length, 13);
  assert.deepEqual(fitColumns(CONN_TABLE_COLUMNS, 80).map((l) => l.col.title), ['start (UTC)', 'originator', 'responder', 'state', 'rtt ms']);
  assert.equal(fitColumns(CONN_TABLE_COLUMNS, Infinity).length, CONN_TABLE_COLUMNS.length);
  assert.equal(fitColumns(CONN_TABLE_COLUMNS, 80, { wide: true }).length, CONN_TABLE_COLUMNS.length);
});

test('any record schema gets a table that fits (the generic columns of a schema)', () => {
  for (const schema of [CONN_SCHEMA, FLOW_SCHEMA]) {
    const cols = schemaColumns(schema);
    assert.equal(cols.length, schema.fields.length);
    const row = Object.fromEntries(schema.fields.map((f) => [f.name, f.type === 'time' ? '1700000000.123456789' : f.type === 'string' ? 'x'.repeat(30) : 12345]));
    for (const w of [60, 100, 200]) {
      const lines = renderTable(cols as Column<Record<string, string | number>>[], [row], w).trimEnd().split('\n');
      for (const l of lines) assert.ok(l.length <= w, `${schema.kind} ${w}: ${l.length}`);
    }
  }
});
