/**
 * Redis inline commands (a line of words: `PING`, `SET k "a b"`), split as
 * Redis splits them (sdssplitargs in its sds.c): words are separated by
 * spaces, tabs, CR, LF (and NUL); a double-quoted word takes the escapes
 * \xHH, \n, \r, \t, \b, \a and \<any> for that character; a single-quoted
 * word takes only \'; a closing quote must be followed by a separator or
 * the end of the line, and a quote left open makes the whole line a
 * protocol error ("unbalanced quotes in request": Redis answers
 * "-ERR Protocol error: unbalanced quotes in request" and closes the
 * connection). On such a line the words read up to the error are still
 * given (what the command looked like), with `problem` set.
 */
import { text } from './_bytes.js';

export interface InlineWords {
  /** Words on the line (all of them, even past the four kept). */
  words: number;
  /** Why the line is not a command (unbalanced quotes); null when it is one. */
  problem: string | null;
}

const result: InlineWords = { words: 0, problem: null };
let scratch = new Uint8Array(256);

function isSep(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x00;
}

function hex(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
}

/**
 * Splits the line b[s, e) (without its line end) into words; the first four
 * go to `out` (cut to `maxChars` bytes). The result object is reused.
 */
export function splitInline(b: Uint8Array, s: number, e: number, out: (string | null)[], maxChars: number): InlineWords {
  result.words = 0;
  result.problem = null;
  if (scratch.length < Math.min(e - s, maxChars)) scratch = new Uint8Array(Math.min(e - s, maxChars) * 2);
  let p = s;
  for (;;) {
    while (p < e && isSep(b[p]!) && b[p] !== 0x00) p++;
    if (p >= e || b[p] === 0x00) return result;
    let n = 0;
    let inq = false, insq = false, done = false;
    const put = (c: number): void => {
      if (n < maxChars && n < scratch.length) scratch[n++] = c;
    };
    while (!done) {
      const c = p < e ? b[p]! : 0;
      if (inq) {
        if (c === 0x5c && p + 3 < e && b[p + 1] === 0x78 && hex(b[p + 2]!) >= 0 && hex(b[p + 3]!) >= 0) {
          put(hex(b[p + 2]!) * 16 + hex(b[p + 3]!));
          p += 3;
        } else if (c === 0x5c && p + 1 < e) {
          p++;
          const x = b[p]!;
          put(x === 0x6e ? 0x0a : x === 0x72 ? 0x0d : x === 0x74 ? 0x09 : x === 0x62 ? 0x08 : x === 0x61 ? 0x07 : x);
        } else if (c === 0x22) {
          if (p + 1 < e && !isSep(b[p + 1]!)) return unbalanced(out, n);
          done = true;
        } else if (p >= e) return unbalanced(out, n);
        else put(c);
      } else if (insq) {
        if (c === 0x5c && p + 1 < e && b[p + 1] === 0x27) {
          p++;
          put(0x27);
        } else if (c === 0x27) {
          if (p + 1 < e && !isSep(b[p + 1]!)) return unbalanced(out, n);
          done = true;
        } else if (p >= e) return unbalanced(out, n);
        else put(c);
      } else if (p >= e || isSep(c)) done = true;
      else if (c === 0x22) inq = true;
      else if (c === 0x27) insq = true;
      else put(c);
      if (p < e) p++;
    }
    if (result.words < 4) out[result.words] = text(scratch, 0, n);
    result.words++;
  }
}

/** The line has a quote left open (or a closing quote glued to the next word): the word so far is kept. */
function unbalanced(out: (string | null)[], n: number): InlineWords {
  if (result.words < 4) out[result.words] = text(scratch, 0, n);
  result.words++;
  result.problem = 'unbalanced quotes in inline command';
  return result;
}
