/**
 * Go base64.StdEncoding decoding (src/tcpinfo/base64.ts): the fast loop and
 * the port of decodeQuantum agree with Node for canonical input, skip CR/LF
 * like Go, and reject exactly what Go rejects, at the same byte position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBase64, encodeBase64, lastBase64ErrorPos, maxDecodedLength } from '../src/tcpinfo/base64.js';

function decode(s: string): string {
  const src = Buffer.from(s, 'latin1');
  const dst = Buffer.alloc(maxDecodedLength(src.length));
  const n = decodeBase64(src, 0, src.length, dst, 0);
  return n < 0 ? `illegal base64 data at input byte ${lastBase64ErrorPos()}` : dst.subarray(0, n).toString('hex');
}

test('base64 strings decode or fail exactly as Go StdEncoding does', () => {
  const inputs = ['', 'AA==', 'AAA=', 'AAAA', 'Y3ViaWMA', 'Y3ViaWMA\n', 'Y3Vi\r\naWMA', 'AA=\n=', 'AA==\n\r', 'AB==', 'AAAAAAAAAAAAAAAAAAAAAA', 'A', 'AA', 'AAA', 'AA=', '=AAA', 'A===', 'AA==AAAA', 'AA==A', 'Y3Vi-aWM', 'Y3Vi_aWM', 'Y3Vi aWM', 'AAAA\u00ff'];
  assert.deepEqual(Object.fromEntries(inputs.map((i) => [i, decode(i)])), {
    '': '',
    'AA==': '00',
    'AAA=': '0000',
    AAAA: '000000',
    Y3ViaWMA: '637562696300',
    'Y3ViaWMA\n': '637562696300',
    'Y3Vi\r\naWMA': '637562696300',
    'AA=\n=': '00',
    'AA==\n\r': '00',
    'AB==': '00',
    AAAAAAAAAAAAAAAAAAAAAA: 'illegal base64 data at input byte 20',
    A: 'illegal base64 data at input byte 0',
    AA: 'illegal base64 data at input byte 0',
    AAA: 'illegal base64 data at input byte 0',
    'AA=': 'illegal base64 data at input byte 3',
    '=AAA': 'illegal base64 data at input byte 0',
    'A===': 'illegal base64 data at input byte 1',
    'AA==AAAA': 'illegal base64 data at input byte 4',
    'AA==A': 'illegal base64 data at input byte 4',
    'Y3Vi-aWM': 'illegal base64 data at input byte 4',
    'Y3Vi_aWM': 'illegal base64 data at input byte 4',
    'Y3Vi aWM': 'illegal base64 data at input byte 4',
    'AAAA\u00ff': 'illegal base64 data at input byte 4',
  });
});

test('any bytes survive encodeBase64 then decodeBase64, also with CR/LF sprinkled in (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
      let text = encodeBase64(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64'));
      for (const c of cuts) {
        const i = c % (text.length + 1);
        text = text.slice(0, i) + (c % 2 ? '\r\n' : '\n') + text.slice(i);
      }
      assert.equal(decode(text), Buffer.from(bytes).toString('hex'));
    }),
    { numRuns: 500 },
  );
});
