/**
 * Statement/fingerprint pairs from Percona Toolkit's own tests of
 * pt-query-digest's fingerprint (percona/percona-toolkit,
 * t/lib/QueryRewriter.t, the fingerprint() cases run with the default
 * options; GPL-2.0 / Artistic test data, quoted as examples). The
 * expected values are Percona's.
 */
export const PERCONA_CASES: readonly (readonly [string, string, string])[] = [
  [
    "UPDATE groups_search SET  charter = '   -------3\\'\\' XXXXXXXXX.\\n    \\n    -----------------------------------------------------', show_in_list = 'Y' WHERE group_id='aaaaaaaa'",
    'update groups_search set charter = ?, show_in_list = ? where group_id=?',
    'complex comments',
  ],
  ['SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`', 'mysqldump', 'Fingerprints all mysqldump SELECTs together'],
  ['CALL foo(1, 2, 3)', 'call foo', 'Fingerprints stored procedure calls specially'],
  ['administrator command: Init DB', 'administrator command: Init DB', 'Fingerprints admin commands as themselves'],
  [
    "REPLACE /*foo.bar:3/3*/ INTO checksum.checksum (db, tbl, chunk, boundaries, this_cnt, this_crc) SELECT 'foo', 'bar', 2 AS chunk_num, '`id` >= 2166633', COUNT(*) AS cnt, LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', `id`, `created_by`)) AS UNSIGNED)), 10, 16)) AS crc FROM `foo`.`bar` USE INDEX (`PRIMARY`) WHERE (`id` >= 2166633); ",
    'percona-toolkit',
    'Fingerprints mk-table-checksum queries together',
  ],
  ['use `foo`', 'use ?', 'Removes identifier from USE'],
  ['select \n--bar\n foo', 'select foo', 'Removes one-line comments in fingerprints'],
  ['select foo--bar\nfoo', 'select foo foo', 'Removes one-line comments in fingerprint without mushing things together'],
  ['select foo -- bar\n', 'select foo ', 'Removes one-line EOL comments in fingerprints'],
  ['select null, 5.001, 5001. from foo', 'select ?, ?, ? from foo', 'Handles bug from perlmonks thread 728718'],
  ["select 'hello', '\nhello\n', \"hello\", '\\'' from foo", 'select ?, ?, ?, ? from foo', 'Handles quoted strings'],
  ["select 'hello'\n", 'select ?', 'Handles trailing newline'],
  // Percona's test says 'select ? from foo' under the name "Does not handle all quoted strings" (a known
  // deficiency it expects to fail); pt-fingerprint itself prints this:
  ["select '\\\\' from foo", "select '\\ from foo", 'Does not handle all quoted strings (as pt-fingerprint does)'],
  ['select   foo', 'select foo', 'Collapses whitespace'],
  ['SELECT * from foo where a = 5', 'select * from foo where a = ?', 'Lowercases, replaces integer'],
  ['select 0e0, +6e-30, -6.00 from foo where a = 5.5 or b=0.5 or c=.5', 'select ?, ?, ? from foo where a = ? or b=? or c=?', 'Floats'],
  ["select 0x0, x'123', 0b1010, b'10101' from foo", 'select ?, ?, ?, ? from foo', 'Hex/bit'],
  [' select  * from\nfoo where a = 5', 'select * from foo where a = ?', 'Collapses whitespace'],
  ['select * from foo where a in (5) and b in (5, 8,9 ,9 , 10)', 'select * from foo where a in(?+) and b in(?+)', 'IN lists'],
  ['select foo_1 from foo_2_3', 'select foo_? from foo_?_?', 'Numeric table names'],
  ['select 123foo from 123foo', 'select ?oo from ?oo', 'Numeric table name prefixes'],
  ['select 123_foo from 123_foo', 'select ?_foo from ?_foo', 'Numeric table name prefixes with underscores'],
  ['insert into abtemp.coxed select foo.bar from foo', 'insert into abtemp.coxed select foo.bar from foo', 'A string that needs no changes'],
  ['insert into foo(a, b, c) values(2, 4, 5)', 'insert into foo(a, b, c) values(?+)', 'VALUES lists'],
  ['insert into foo(a, b, c) values(2, 4, 5) , (2,4,5)', 'insert into foo(a, b, c) values(?+)', 'VALUES lists with multiple ()'],
  ['insert into foo(a, b, c) value(2, 4, 5)', 'insert into foo(a, b, c) value(?+)', 'VALUES lists with VALUE()'],
  ['select * from foo limit 5', 'select * from foo limit ?', 'limit alone'],
  ['select * from foo limit 5, 10', 'select * from foo limit ?', 'limit with comma-offset'],
  ['select * from foo limit 5 offset 10', 'select * from foo limit ?', 'limit with offset'],
  ['select 1 union select 2 union select 4', 'select ? /*repeat union*/', 'union fingerprints together'],
  ['select 1 union all select 2 union all select 4', 'select ? /*repeat union all*/', 'union all fingerprints together'],
  [
    'select * from (select 1 union all select 2 union all select 4) as x join (select 2 union select 2 union select 3) as y',
    'select * from (select ? /*repeat union all*/) as x join (select ? /*repeat union*/) as y',
    'union all fingerprints together (two groups)',
  ],
  ['select c from t where i=1 order by c asc', 'select c from t where i=? order by c', 'Remove ASC from ORDER BY'],
  ['select * from t where i=1 order by a, b ASC, d DESC, e asc', 'select * from t where i=? order by a, b, d desc, e', 'Remove only ASC from ORDER BY'],
  [
    'select * from t where i=1      order            by \n      a,  b          ASC, d    DESC,    \n                             \n                             e asc',
    'select * from t where i=? order by a, b, d desc, e',
    'Remove ASC from spacey ORDER BY',
  ],
  ["LOAD DATA INFILE '/tmp/foo.txt' INTO db.tbl", 'load data infile ? into db.tbl', 'Fingerprint LOAD DATA INFILE'],
  [
    '/* -- S++ SU ABORTABLE -- spd_user: rspadim */SELECT SQL_SMALL_RESULT SQL_CACHE DISTINCT centro_atividade FROM est_dia WHERE unidade_id=1001 AND item_id=67 AND item_id_red=573',
    'select sql_small_result sql_cache distinct centro_atividade from est_dia where unidade_id=? and item_id=? and item_id_red=?',
    'Fingerprint /* -- comment */ SELECT (bug 1174956)',
  ],
  ['SELECT * FROM tbl WHERE id=1 AND flag=true AND trueflag=FALSE', 'select * from tbl where id=? and flag=? and trueflag=?', 'boolean values abstracted correctly (issue 965553)'],
];
