import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SCHEMAS, markdownReference } from '../src/records/index.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

for (const [kind, schema] of SCHEMAS) {
  test(`the README's column reference for ${kind} records is the one generated from the schema`, () => {
    const start = `<!-- columns:${kind} -->\n`;
    const i = README.indexOf(start);
    const j = README.indexOf(`<!-- /columns:${kind} -->`);
    assert.ok(i >= 0 && j > i, `README has the ${kind} column markers`);
    assert.equal(README.slice(i + start.length, j).trim(), markdownReference(schema).trim(), 'run `npm run docs`');
  });
}

test('the README names the two commands that set up and test the project', () => {
  assert.match(README, /npm ci && npx tcpanalyze fixtures\/pcaps\/zeek__http-get\.pcap/);
  assert.match(README, /\nnpm test\n/);
});
