/**
 * The MySQL/MariaDB command record (`record: "mysql"`, Zeek's log name):
 * one per client command with the server's reply (the login included),
 * written when the reply is complete, or at once for commands that have
 * none (quit, stmt_close, stmt_send_long_data). Zeek's mysql.log fields
 * (scripts/base/protocols/mysql/main.zeek: cmd, arg, success, rows,
 * response) keep Zeek's meaning; tshark's MySQL dissector names the codes
 * (mysql.command, mysql.stmt_id, mysql.num_fields, mysql.error_code,
 * mysql.sqlstate); tcpkit adds the statement fingerprint, result-set
 * counts, timing and the state of the exchange.
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

/** Values of the `state` field. */
export const MYSQL_STATES = ['complete', 'incomplete', 'unanswered', 'invalid', 'tls'] as const;

export const MYSQL_FIELDS: readonly FieldDef[] = [
  ...identityFields('Time of the first byte of the command (of the handshake response for a login; of the server greeting for a login the server refused outright).'),
  f('cmd', 'string', 'zeek', 'The command, by Zeek\'s names: login (the handshake), query, init_db, field_list, ping, quit, stmt_prepare, stmt_execute, stmt_close, stmt_reset, stmt_fetch, stmt_send_long_data, change_user, statistics, process_kill, set_option, reset_connection, binlog_dump, ...; unknown-N for a code Zeek has no name for.'),
  f('arg', 'string', 'zeek', 'The command\'s argument: the statement (query, stmt_prepare; for stmt_execute, stmt_fetch, stmt_reset, stmt_close and stmt_send_long_data the text prepared under its statement id, where Zeek shows the raw bytes), the database (init_db, create_db, drop_db), the table (field_list), the user (login, change_user), the connection id (process_kill); empty for commands without one. Text is UTF-8 when valid, else one character per byte; cut at the value limit (8192 characters) with an ellipsis.'),
  f('success', 'bool', 'zeek', 'The server said the command succeeded (an OK or EOF packet, a result set, a statistics string, a prepared statement); false on an ERR packet; unset when the command has no reply (quit, stmt_close, stmt_send_long_data) or none was seen.'),
  f('rows', 'int', 'zeek', 'Affected rows of the final OK packet; 0 when the reply ended with an EOF packet (a result set, whose rows are result_rows; a field list), as Zeek logs it.'),
  f('response', 'string', 'zeek', 'The message of an ERR packet.'),
  f('fingerprint', 'string', 'tcpkit', 'The statement\'s fingerprint by pt-query-digest\'s rules (src/protocols/sql-fingerprint.ts): literals and numbers as ?, IN and VALUES lists folded, comments removed, whitespace collapsed, lower case. As pt-query-digest names the commands: a stmt_prepare is "prepare <statement>", a stmt_execute "execute <statement>", a stmt_close "deallocate prepare ?", a stmt_reset "reset ?"; other commands are "administrator command: Ping", "... Init_db", "... Quit" and so on, a login "administrator command: Connect".'),
  f('command_code', 'int', 'tshark', 'The command\'s code (tshark mysql.command: 3 query, 22 stmt_prepare, 23 stmt_execute, ...); unset for a login.'),
  f('statement_id', 'int', 'tshark', 'Statement id of a prepared statement (tshark mysql.stmt_id): the id the server gave (stmt_prepare) or the one the command names.'),
  f('params', 'int', 'tcpkit', 'Parameters the prepared statement binds (the server\'s answer to stmt_prepare; for the commands that name the statement, the count it was prepared with).'),
  f('columns', 'int', 'tshark', 'Columns of the (first) result set, or of the prepared statement (tshark mysql.num_fields).'),
  f('result_rows', 'int', 'tcpkit', 'Rows the result sets held (counted, never stored).'),
  f('result_sets', 'int', 'tcpkit', 'Result sets in the reply (more than one for multi-statement queries and stored procedures).'),
  f('insert_id', 'int', 'tcpkit', 'Last insert id of the final OK packet (Packetbeat\'s mysql.insert_id).'),
  f('warnings', 'int', 'tcpkit', 'Warning count of the final OK or EOF packet.'),
  f('error_code', 'int', 'tshark', 'Error code of an ERR packet (tshark mysql.error_code), e.g. 1049 unknown database, 1064 syntax error.'),
  f('sql_state', 'string', 'tshark', 'SQL state of an ERR packet (tshark mysql.sqlstate), e.g. 42000.'),
  f('db_version', 'string', 'tshark', 'Server version of the greeting (tshark mysql.version), e.g. 8.0.21 or 5.5.5-10.11.6-MariaDB.'),
  f('user', 'string', 'tshark', 'User of the handshake response (tshark mysql.user), or of the last successful change_user.'),
  f('database', 'string', 'tshark', 'Database of the handshake response (tshark mysql.schema), then of the last successful init_db.'),
  f('capability_flags', 'int', 'tshark', 'Capability flags of the client\'s handshake response (login records; tshark mysql.caps.*, the extended ones in the upper 16 bits): 0x20 compression, 0x800 TLS, 0x200 protocol 4.1, 0x01000000 deprecate EOF.'),
  f('auth_plugin', 'string', 'tshark', 'Authentication plugin of the login (login records): the one the server switched to, else the client\'s (tshark mysql.client_auth_plugin).'),
  f('compressed', 'bool', 'tcpkit', 'The connection uses the compressed protocol (negotiated in the handshake, or recognised by its 7-byte frame headers when the capture began later).'),
  f('request_bytes', 'int', 'tcpkit', 'Bytes of the command\'s packets, headers included (after decompression on a compressed connection).'),
  f('response_bytes', 'int', 'tcpkit', 'Bytes of the reply\'s packets, headers included (after decompression).'),
  f('request_end_ts', 'time', 'tcpkit', 'Time of the last byte of the command.'),
  f('response_ts', 'time', 'tcpkit', 'Time of the first byte of the reply.'),
  f('response_end_ts', 'time', 'tcpkit', 'Time of the last byte of the reply.'),
  f('latency_ms', 'float', 'tcpkit', 'Milliseconds from the last byte of the command to the first byte of the reply: the server\'s time (DeepFlow\'s rrt when the command is one packet).'),
  f('duration_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the command to the last byte of the reply: what the client waited, the result set\'s transfer included.'),
  f('state', 'string', 'tcpkit', 'complete; incomplete (a capture gap cut the command or the reply, or the connection ended inside the reply); unanswered (no reply before the connection ended); invalid (the bytes broke the protocol; see problem); tls (the client asked for TLS in the handshake: the rest of the connection is encrypted and not decoded).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete, e.g. "reply lost in a capture gap", "column count 1000000000 over 65535".'),
];

export const MYSQL_SCHEMA: RecordSchema = {
  kind: 'mysql',
  doc: 'One record per MySQL/MariaDB command and its reply (tcpanalyze --decode mysql).',
  fields: MYSQL_FIELDS,
};
