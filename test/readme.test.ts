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

test('the commands run as executables through their shebang lines (as npx runs them)', async () => {
  const { spawnSync } = await import('node:child_process');
  const root = new URL('../..', import.meta.url).pathname;
  for (const [cmd, args] of [['tcpanalyze', ['fixtures/pcaps/zeek__http-get.pcap']], ['csvtool', ['fixtures/tcpinfo/edgecases/in/empty_input.jsonl']]] as const) {
    const r = spawnSync(`${root}dist/cli/${cmd}.js`, [...args], { cwd: root, encoding: 'utf8' });
    assert.equal(r.error, undefined, `${cmd}: ${r.error?.message}`);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
});
