/**
 * Usage errors across the commands: one line that names the real mistake
 * (a mistyped filter is a filter error, not "one input at a time"), each
 * location said once, exit status 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIX } from './_fixtures.js';
import { run } from './_cli.js';

const CAP = join(FIX, 'zeek__http-get.pcap');

test('a mistyped tcpeek filter argument is reported by the filter parser, not as a second input', () => {
  for (const cmd of ['tcpfilter', 'tcpsummary'] as const) {
    const r = run(cmd, ['web:TXX@%:443', CAP]);
    assert.equal(r.status, 2, cmd);
    assert.deepEqual(r.errLines, [`${cmd}: filter "web:TXX@%:443": expected "@" after the direction, found "X" at column 7 [FILTER_SYNTAX]`]);
  }
});

test('an expression error names its column once', () => {
  const cases: [Parameters<typeof run>[0], string[], string][] = [
    ['tcpfilter', ['--where', 'conn_state = = 1', CAP], 'tcpfilter: --where "conn_state = = 1": expected a number, a string or a field, found "=" at column 14 [WHERE_SYNTAX]'],
    ['tcpsummary', ['--where', 'conn_state = = 1', CAP], 'tcpsummary: --where "conn_state = = 1": expected a number, a string or a field, found "=" at column 14 [WHERE_SYNTAX]'],
    ['tcpanalyze', ['--where', 'conn_state = = 1', CAP], 'tcpanalyze: --where "conn_state = = 1": expected a number, a string or a field, found "=" at column 14 [WHERE_SYNTAX]'],
    ['tcpanalyze', ['--format', 'summary', '-F', 'bad:XX@%:1', CAP], 'tcpanalyze: filter "bad:XX@%:1": expected the direction RX or TX at column 5 [FILTER_SYNTAX]'],
    ['tcpfilter', ['--local', '10.0.0.0/8,nonsense', CAP], 'tcpfilter: --local "10.0.0.0/8,nonsense": "nonsense" is not an address or CIDR at column 12 [FILTER_SYNTAX]'],
  ];
  for (const [cmd, args, line] of cases) {
    const r = run(cmd, args);
    assert.equal(r.status, 2, line);
    assert.deepEqual(r.errLines, [line]);
    assert.equal(r.stderr.match(/column/g)?.length, 1, line);
  }
});
