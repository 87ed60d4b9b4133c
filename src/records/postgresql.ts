/**
 * The PostgreSQL record (`record: "postgresql"`, Zeek's log name): one per
 * exchange of the frontend/backend protocol v3: the SSLRequest and the
 * server's one-byte answer, the startup (authentication included), each
 * simple query, each extended-query cycle (the Parse, Bind, Describe,
 * Execute and Close messages up to a Sync, answered up to ReadyForQuery),
 * each function call, a cancel request and the terminate message. Zeek's
 * postgresql.log fields (scripts/base/protocols/postgresql/main.zeek:
 * user, database, application_name, frontend, frontend_arg, backend,
 * backend_arg, success, rows) keep Zeek's meaning; tshark's PostgreSQL
 * dissector names the others (pgsql.tag, pgsql.statement, pgsql.portal,
 * pgsql.code, pgsql.severity, pgsql.message); tcpkit adds the statement
 * fingerprint, counts, timing and the state of the exchange.
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

/** Values of the `state` field. */
export const POSTGRESQL_STATES = ['complete', 'incomplete', 'unanswered', 'invalid', 'tls'] as const;

export const POSTGRESQL_FIELDS: readonly FieldDef[] = [
  ...identityFields("Time of the first byte of the exchange's first frontend message."),
  f('user', 'string', 'zeek', 'User of the StartupMessage (on every record after it).'),
  f('database', 'string', 'zeek', 'Database of the StartupMessage.'),
  f('application_name', 'string', 'zeek', 'application_name of the StartupMessage.'),
  f('frontend', 'string', 'zeek', "What the client sent, by Zeek's names: ssl_request, startup, simple_query, terminate; and tcpkit's: gssenc_request, cancel_request, extended_query (Parse/Bind/Describe/Execute/Close messages up to a Sync), function_call."),
  f('frontend_arg', 'string', 'zeek', "The statement: a simple query's text (several statements separated by semicolons included), an extended-query cycle's statement (the one its first Execute ran, found through its Bind and Parse, else the one it parsed); the function's OID of a function call. Cut at the value limit with an ellipsis."),
  f('backend', 'string', 'zeek', "What the server answered, by Zeek's rules: ssl_reply; auth_ok, or one auth_request per authentication request; error after an ErrorResponse (appended to what was there)."),
  f('backend_arg', 'string', 'zeek', "Zeek's text: the SSL answer (S or N); the authentication methods requested (SASL, SASLContinue, SASLFinal, MD5Password, CleartextPassword, ...); the fields of each NoticeResponse and ErrorResponse as Name=value (SeverityLocalized, Severity, Code, Message, Detail, Hint, Position, ..., File, Line, Routine), joined by commas."),
  f('success', 'bool', 'zeek', "Zeek's meaning: the SSL request accepted (S); the login accepted (AuthenticationOk); a query without an ErrorResponse ending in transaction status I or T (a query in a failed transaction block, status E, is false too)."),
  f('rows', 'int', 'zeek', "DataRow messages the server sent (Zeek's meaning: rows returned; 0 for an INSERT, whose count is tag_rows); unset after an ErrorResponse, as Zeek."),
  f('fingerprint', 'string', 'tcpkit', "The statement's fingerprint by pt-query-digest's rules in the PostgreSQL dialect (src/protocols/sql-fingerprint.ts: quoted identifiers kept, $n parameters, dollar-quoted and E'' strings folded)."),
  f('tag', 'string', 'tshark', 'Tag of the last CommandComplete (tshark pgsql.tag), e.g. SELECT 2, INSERT 0 1, UPDATE 5, COPY 3, BEGIN.'),
  f('tag_rows', 'int', 'tcpkit', "Rows the CommandComplete tags count, summed over the exchange (rows inserted, updated, deleted, copied or returned; DeepFlow's affected rows)."),
  f('commands', 'int', 'tcpkit', 'CommandComplete (and EmptyQueryResponse) messages: statements completed (several for a multi-statement simple query or a batch of Executes).'),
  f('executes', 'int', 'tcpkit', 'Execute messages of an extended-query cycle.'),
  f('statement', 'string', 'tshark', 'Name of the prepared statement the cycle parsed or bound (tshark pgsql.statement; empty for the unnamed statement).'),
  f('portal', 'string', 'tshark', 'Name of the portal the cycle bound and executed (tshark pgsql.portal; empty for the unnamed portal).'),
  f('params', 'int', 'tcpkit', 'Parameters the Bind message bound (else the parameter types the Parse declared).'),
  f('columns', 'int', 'tshark', 'Fields of the first RowDescription (tshark pgsql.field.count).'),
  f('sql_state', 'string', 'tshark', 'SQLSTATE code of the ErrorResponse (tshark pgsql.code), e.g. 42P01.'),
  f('error_severity', 'string', 'tshark', 'Severity of the ErrorResponse (tshark pgsql.severity): ERROR, FATAL, PANIC.'),
  f('error_message', 'string', 'tshark', 'Message of the ErrorResponse (tshark pgsql.message).'),
  f('transaction_status', 'string', 'tcpkit', 'Transaction status of the ReadyForQuery that ended the exchange: I idle, T in a transaction block, E in a failed transaction block.'),
  f('copy', 'string', 'tcpkit', 'The exchange ran COPY: in (CopyInResponse, data from the client), out (CopyOutResponse) or both (CopyBothResponse, replication).'),
  f('protocol_version', 'string', 'tcpkit', 'Protocol version of the StartupMessage (3.0).'),
  f('db_version', 'string', 'tcpkit', 'The server_version ParameterStatus of the startup, e.g. 15.8 (Debian 15.8-0+deb12u1).'),
  f('request_bytes', 'int', 'tcpkit', 'Bytes of the frontend messages of the exchange (CopyData from the client included).'),
  f('response_bytes', 'int', 'tcpkit', 'Bytes of the backend messages of the exchange.'),
  f('request_end_ts', 'time', 'tcpkit', 'Time of the last byte the client sent for the exchange before the reply began (the Sync of an extended-query cycle).'),
  f('response_ts', 'time', 'tcpkit', 'Time of the first byte of the reply.'),
  f('response_end_ts', 'time', 'tcpkit', 'Time of the last byte of the reply (its ReadyForQuery).'),
  f('latency_ms', 'float', 'tcpkit', "Milliseconds from request_end_ts to response_ts: the server's time (DeepFlow's rrt when the request is one packet)."),
  f('duration_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the exchange to the last byte of the reply.'),
  f('state', 'string', 'tcpkit', 'complete; incomplete (a capture gap cut a message, or the connection ended inside the reply); unanswered (no reply before the connection ended); invalid (the bytes broke the protocol: see problem); tls (the server accepted an SSLRequest or GSSENCRequest: the rest of the connection is encrypted and not decoded).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete, e.g. "reply lost in a capture gap", "message length 2147483647 over 1073741824".'),
];

export const POSTGRESQL_SCHEMA: RecordSchema = {
  kind: 'postgresql',
  doc: 'One record per PostgreSQL exchange: SSL request, startup, simple query, extended-query cycle, function call (tcpanalyze --decode postgresql).',
  fields: POSTGRESQL_FIELDS,
};
