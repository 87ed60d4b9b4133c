/**
 * SQL statement fingerprints, the way Percona's pt-query-digest groups
 * statements (QueryRewriter::fingerprint in percona-toolkit's
 * lib/QueryRewriter.pm; its rules restated here, in order):
 *
 *  1. `SELECT /*!40001 SQL_NO_CACHE *\/ * FROM \`` (mysqldump) is `mysqldump`;
 *     a `/*db.tbl:N/N*\/` comment (pt-table-checksum) makes `percona-toolkit`;
 *     `administrator command: ...` stays as it is; `CALL proc(...)` is
 *     `call proc`, lower-cased.
 *  2. A multi-row `INSERT|REPLACE [IGNORE] INTO ... VALUES (...), (...)` is cut
 *     after its first row.
 *  3. Comments are removed: `/* ... *\/` (not the `/*!version ...*\/` kind),
 *     then `-- ...` and `# ...` to the end of the line.
 *  4. `USE db` becomes `use ?` (and nothing else is done).
 *  5. Quoted strings (`"..."`, `'...'`, escaped quotes first removed) become
 *     `?`; so do `true` and `false`.
 *  6. Anything that starts like a number (a digit, `+` or `-`, then digits,
 *     `a`-`f`, `.`, `x`, `b`, `+`, `-`) becomes `?`, even inside a name
 *     (`foo_1` becomes `foo_?`): pt-query-digest's deliberately broad rule;
 *     then `x?`, `b?`, `.?`, `+?`, `-?` become `?` (hex, bit and signed
 *     leftovers).
 *  7. Leading whitespace and one final newline go, every run of spaces, tabs
 *     and line breaks becomes one space, and everything is lower-cased.
 *  8. `null` becomes `?`; `IN (...)`, `VALUE(S) (...)` lists of `?` (several
 *     lists in a row too) become `in(?+)`, `values(?+)`; `select X union
 *     [all] select X ...` becomes `select X /*repeat union [all]*\/`; the
 *     first `limit ?`, `limit ?, ?` or `limit ? offset ?` becomes `limit ?`;
 *     after `order by`, every ` asc` goes.
 *
 * pt-query-digest's known approximations are kept, so that fingerprints
 * equal its own (`test/protocols.sql-fingerprint.test.ts` compares them with
 * pt-fingerprint where it is installed): digits inside names fold, an `asc`
 * that starts a word after ORDER BY is cut, a quote inside a string escaped
 * by doubling (`'it''s'`) leaves two strings.
 *
 * The PostgreSQL dialect differs in four ways (tcpkit's, not Percona's):
 * double quotes delimit identifiers, which are kept (`"users"."id"`; pt
 * would make `?.?`); `$1`, `$2` ... parameters become `?`; dollar-quoted
 * strings (`$$...$$`, `$tag$...$tag$`) become `?`; `E'...'` strings become
 * `?`.
 *
 * The work is linear in the statement's length except for the UNION rule,
 * which compares repetitions and is given a budget (a statement built to
 * exhaust it keeps its unions as they are); statements are clipped at
 * DecoderLimits.maxValueChars before they get here.
 */

export type SqlDialect = 'mysql' | 'postgresql';

const MYSQLDUMP = /^SELECT \/\*!40001 SQL_NO_CACHE \*\/ \* FROM `/;
const PT_CHECKSUM = /\/\*\w+\.\w+:[0-9]\/[0-9]\*\//;
const ADMIN = /^administrator command: /;
const CALL = /^\s*(call\s+\S+)\(/i;
const INSERT_HEAD = /^(?:INSERT|REPLACE)(?: IGNORE)?\s+INTO[\s\S]/i;
const VALUES_OPEN = /VALUES\s*\(/gi;
const ROW_SEPARATOR = /\)\s*,\s*\(/g;
const MULTI_LINE_COMMENT = /\/\*[^!][\s\S]*?\*\//g;
const ONE_LINE_COMMENT = /(?:--|#)[^'"\r\n]*(?=[\r\n]|$)/g;
const USE_DB = /^use \S+(?=\n?$)/i;
const ESCAPED_QUOTE = /\\["']/g;
const ESCAPED_SINGLE_QUOTE = /\\'/g;
const DOUBLE_QUOTED = /"[\s\S]*?"/g;
const SINGLE_QUOTED = /'[\s\S]*?'/g;
const BOOLEAN = /\bfalse\b|\btrue\b/gi;
const NUMBER = /[0-9+-][0-9a-f.xb+-]*/g;
const NUMBER_LEFTOVER = /[xb.+-]\?/g;
const LEADING_SPACE = /^\s+/;
const SPACES = /[ \n\t\r\f]+/g;
const NULL = /\bnull\b/g;
const LISTS = /\b(in|values?)(?:[\s,]*\([\s?,]*\))+/g;
const LIMIT = /\blimit \?(?:, ?\?| offset \?)?/;
const ORDER_BY = /\border by /i;
const ASC = /(.+?)\s+asc/giy;
// PostgreSQL
const PG_PARAM = /\$[0-9]+/g;
const PG_DOLLAR_QUOTED = /\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g;
const PG_ESCAPE_STRING = /\b[eE](?=')/g;

/** Characters compared at most by the UNION rule per statement. */
const UNION_BUDGET = 1 << 20;

/** The fingerprint of one statement (see the file comment for the rules). */
export function fingerprint(sql: string, dialect: SqlDialect = 'mysql'): string {
  let q = sql;
  if (MYSQLDUMP.test(q)) return 'mysqldump';
  if (PT_CHECKSUM.test(q)) return 'percona-toolkit';
  if (ADMIN.test(q)) return q;
  const call = CALL.exec(q);
  if (call !== null) return call[1]!.toLowerCase();
  q = firstInsertRow(q);
  // each rule is skipped when the text cannot hold what it replaces (a third of the time otherwise)
  if (q.includes('/*')) q = q.replace(MULTI_LINE_COMMENT, '');
  if (q.includes('--') || q.includes('#')) q = q.replace(ONE_LINE_COMMENT, '');
  if (USE_DB.test(q)) return q.replace(USE_DB, 'use ?');
  const quote = q.includes("'");
  if (dialect === 'postgresql') {
    if (q.includes('$')) q = q.replace(PG_DOLLAR_QUOTED, '?');
    if (quote) q = q.replace(ESCAPED_SINGLE_QUOTE, '').replace(PG_ESCAPE_STRING, '').replace(SINGLE_QUOTED, '?');
    if (q.includes('$')) q = q.replace(PG_PARAM, '?');
  } else if (quote || q.includes('"')) {
    q = q.replace(ESCAPED_QUOTE, '').replace(DOUBLE_QUOTED, '?').replace(SINGLE_QUOTED, '?');
  }
  q = q.replace(BOOLEAN, '?').replace(NUMBER, '?').replace(NUMBER_LEFTOVER, '?').replace(LEADING_SPACE, '');
  if (q.endsWith('\n')) q = q.slice(0, -1);
  q = q.replace(SPACES, ' ').toLowerCase();
  if (q.includes('null')) q = q.replace(NULL, '?');
  if (q.includes('in') || q.includes('value')) q = q.replace(LISTS, '$1(?+)');
  if (q.includes('union')) q = collapseUnions(q);
  if (q.includes('limit ?')) q = q.replace(LIMIT, 'limit ?');
  if (q.includes('order by ')) {
    // pt anchors at the first "order by " at a word start
    const ob = ORDER_BY.exec(q);
    const from = ob === null ? q.length : ob.index + ob[0].length;
    ASC.lastIndex = 0;
    if (q.includes('asc', from)) q = q.slice(0, from) + q.slice(from).replace(ASC, '$1');
  }
  return q;
}

/**
 * Rule 2: `INSERT|REPLACE [IGNORE] INTO <at least one character> VALUES (`,
 * then the first `)` followed by `, (` ends the statement (what pt's
 * `\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(`
 * keeps, found in one pass instead of by backtracking).
 */
function firstInsertRow(q: string): string {
  const head = INSERT_HEAD.exec(q);
  if (head === null) return q;
  VALUES_OPEN.lastIndex = head[0].length;
  const v = VALUES_OPEN.exec(q);
  if (v === null) return q;
  ROW_SEPARATOR.lastIndex = v.index + v[0].length;
  const sep = ROW_SEPARATOR.exec(q);
  return sep === null ? q : q.slice(0, sep.index + 1);
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isSpaceChar(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;
}

/**
 * pt's `\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+` -> `$1 /*repeat$2*\/`,
 * globally: from each `select` at a word start, the shortest prefix that
 * is followed by one or more `union [all] <the same prefix>` repetitions.
 * The query has no line breaks by now (rule 7), so `.` is any character.
 */
function collapseUnions(q: string): string {
  let budget = UNION_BUDGET;
  let out = '';
  let from = 0;
  let i = 0;
  const n = q.length;
  while (i < n) {
    const s = q.indexOf('select', i);
    if (s < 0) break;
    if ((s > 0 && isWordChar(q.charCodeAt(s - 1))) || s + 6 >= n || !isSpaceChar(q.charCodeAt(s + 6))) {
      i = s + 1;
      continue;
    }
    let matched = false;
    // candidate ends of the prefix: every place where "\sunion" starts, nearest first
    for (let u = q.indexOf('union', s + 7); u >= 0 && budget > 0; u = q.indexOf('union', u + 1)) {
      const end = u - 1; // the \s before union
      if (end < s + 7 || !isSpaceChar(q.charCodeAt(end))) continue;
      const prefix = end - s;
      let pos = end;
      let reps = 0;
      let kw = '';
      for (;;) {
        // \sunion(?:\sall)?\s\1
        if (!isSpaceChar(q.charCodeAt(pos)) || !q.startsWith('union', pos + 1)) break;
        let k = pos + 6;
        let word = q.substring(pos, k);
        if (isSpaceChar(q.charCodeAt(k)) && q.startsWith('all', k + 1) && isSpaceChar(q.charCodeAt(k + 4)) && matchesAt(q, s, prefix, k + 5)) {
          word = q.substring(pos, k + 4);
          k += 4;
        }
        if (!isSpaceChar(q.charCodeAt(k))) break;
        budget -= prefix;
        if (!matchesAt(q, s, prefix, k + 1)) break;
        reps++;
        kw = word;
        pos = k + 1 + prefix;
      }
      if (reps > 0) {
        out += q.slice(from, end) + ' /*repeat' + kw + '*/';
        from = i = pos;
        matched = true;
        break;
      }
    }
    if (!matched) i = s + 1;
  }
  return from === 0 ? q : out + q.slice(from);
}

/** q[at, at+len) equals q[start, start+len). */
function matchesAt(q: string, start: number, len: number, at: number): boolean {
  if (at + len > q.length) return false;
  return q.startsWith(q.substr(start, len), at);
}
