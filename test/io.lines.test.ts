/**
 * LineReader (src/io/lines.ts): Go bufio.ScanLines splitting (one trailing
 * CR removed, unterminated last line kept), lines up to --max-line held
 * whole and longer ones skipped without being held, runs of empty lines as
 * damage, the same lines whatever the chunk boundaries, line numbers and
 * offsets, unread().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteWindow } from '../src/io/window.js';
import { IterableSource } from '../src/io/sources.js';
import { LineReader, type LineReaderOptions } from '../src/io/lines.js';
import { ToolError } from '../src/util/errors.js';

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

interface Line {
  text: string;
  no: number;
  offset: number;
  terminated: boolean;
}

async function split(data: Buffer | string, chunk = 1 << 16, window = 1 << 16, opts: LineReaderOptions = {}): Promise<Line[]> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const r = new LineReader(new ByteWindow(new IterableSource(chunksOf(buf, Math.max(1, chunk))), 'test', window), opts);
  const out: Line[] = [];
  for (;;) {
    while (r.nextBuffered()) out.push({ text: r.tooLong ? '<too long>' : r.text('latin1'), no: r.lineNo, offset: r.lineOffset, terminated: r.terminated });
    if (!(await r.fill())) break;
  }
  return out;
}

const texts = (ls: Line[]): string[] => ls.map((l) => l.text);

/** What Go's bufio.Scanner with ScanLines returns (without its 64 KiB limit). */
function goScanLines(s: string): string[] {
  if (s === '') return [];
  const parts = s.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((p) => (p.endsWith('\r') ? p.slice(0, -1) : p));
}

test('lines are split on LF with one trailing CR removed, and numbered with their input offsets', async () => {
  assert.deepEqual(await split('a\nbb\r\n\r\r\n\nlast'), [
    { text: 'a', no: 1, offset: 0, terminated: true },
    { text: 'bb', no: 2, offset: 2, terminated: true },
    { text: '\r', no: 3, offset: 6, terminated: true },
    { text: '', no: 4, offset: 9, terminated: true },
    { text: 'last', no: 5, offset: 10, terminated: false },
  ]);
});

test('an empty input has no lines, a lone newline is one empty line, and a final newline adds no line', async () => {
  assert.deepEqual(
    [texts(await split('')), texts(await split('\n')), texts(await split('x\n')), texts(await split('x\n\n'))],
    [[], [''], ['x'], ['x', '']],
  );
});

test('the lines are the same whatever the chunk size and window size, including windows smaller than a line', async () => {
  const sample = 'first line\r\n{"Timestamp":"2019"}\n\nmiddle\rpart\n' + 'x'.repeat(300) + '\r\nend';
  const want = goScanLines(sample);
  for (const chunk of [1, 2, 3, 7, 64, 1000]) {
    for (const window of [4, 16, 100, 1 << 16]) {
      assert.deepEqual(texts(await split(sample, chunk, window)), want, `chunk ${chunk}, window ${window}`);
    }
  }
});

test('any input splits like Go ScanLines, at any chunk boundary (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', '\n', '\r', '{', ' '), { maxLength: 200 }), fc.integer({ min: 1, max: 50 }), async (chars, chunk) => {
      const s = chars.join('');
      assert.deepEqual(texts(await split(s, chunk, 8)), goScanLines(s));
    }),
    { numRuns: 300 },
  );
});

test('a line far longer than 64 KiB is read whole (Go stops silently at 64 KiB; tcpkit holds lines up to --max-line, 1 MiB)', async () => {
  const long = 'y'.repeat(300_000);
  const got = await split(`short\n${long}\nafter\n`, 4096, 1024);
  assert.deepEqual(
    got.map((l) => [l.text.length, l.no, l.offset]),
    [
      [5, 1, 0],
      [300_000, 2, 6],
      [5, 3, 300_007],
    ],
  );
  assert.equal(got[1]!.text, long);
});

test('unread() hands the current line out again with the same number, so a caller can peek at the first line', async () => {
  const r = new LineReader(new ByteWindow(new IterableSource(chunksOf(Buffer.from('one\ntwo\n'), 2)), 'test', 4));
  assert.equal(await r.next(), true);
  assert.deepEqual([r.text(), r.lineNo], ['one', 1]);
  r.unread();
  const seen: [string, number][] = [];
  while (await r.next()) seen.push([r.text(), r.lineNo]);
  assert.deepEqual(seen, [
    ['one', 1],
    ['two', 2],
  ]);
  assert.throws(() => new LineReader(new ByteWindow(new IterableSource(chunksOf(Buffer.alloc(0), 1)), 't')).unread(), /no current line/);
});

test('a line longer than maxLine is handed out at once as too long, without its bytes, and the rest of it is skipped as it streams by', async () => {
  for (const [chunk, window] of [[4096, 1024], [7, 16], [1 << 20, 1 << 16]] as const) {
    const got = await split(`short\n${'z'.repeat(100_000)}\nafter\n${'w'.repeat(40_000)}`, chunk, window, { maxLine: 20_000 });
    assert.deepEqual(
      got.map((l) => [l.text, l.no, l.offset]),
      [
        ['short', 1, 0],
        ['<too long>', 2, 6],
        ['after', 3, 100_007],
        ['<too long>', 4, 100_013],
      ],
      `chunk ${chunk}, window ${window}`,
    );
  }
});

test('a line of 64 MB through a 64 KiB window with the default limit: the window never grows past a few MiB', async () => {
  const r = new LineReader(new ByteWindow(new IterableSource(chunksOf(Buffer.alloc(64 << 20, 0x41), 1 << 16)), 'test', 1 << 16));
  let n = 0;
  let biggest = 0;
  for (;;) {
    while (r.nextBuffered()) {
      n++;
      assert.equal(r.tooLong, true);
      assert.equal(r.tooLongError().code, 'INPUT_LINE_TOO_LONG');
    }
    biggest = Math.max(biggest, r.window.buf.length);
    if (!(await r.fill())) break;
  }
  assert.equal(n, 1);
  assert.ok(biggest <= 4 << 20, `window grew to ${biggest}`);
});

test('more than maxEmptyRun empty lines in a row is INPUT_EMPTY_RUN at the line that passed the limit; fewer are lines', async () => {
  assert.equal((await split('a\n' + '\n'.repeat(100) + 'b\n', 16, 16, { maxEmptyRun: 100 })).length, 102);
  await assert.rejects(split('a\n' + '\n'.repeat(101) + 'b\n', 16, 16, { maxEmptyRun: 100, name: 'x' }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.equal(e.code, 'INPUT_EMPTY_RUN');
    assert.deepEqual(e.context, { file: 'x', line: 102, offset: 102 });
    return true;
  });
});
