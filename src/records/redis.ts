/**
 * The Redis record (`record: "redis"`): one per command with its reply, one
 * per reply that no command explains, and one per message a subscribed
 * connection was pushed. The names Zeek's redis.log gives (scripts/base/
 * protocols/redis/main.zeek: `cmd.name`, `cmd.key`, `cmd.value`, `success`,
 * `reply.value`) are written with Zeek's scope separator set to `_`
 * (`redef Log::default_scope_sep = "_"` gives the same names in Zeek's own
 * logs), since record field names must be identifiers: `cmd_name`,
 * `cmd_key`, `cmd_value`, `success`, `reply_value`. tcpkit adds the
 * command's shape (first argument, its pattern, argument count, size),
 * the reply's (type, error prefix, size, element count), timing and the
 * state of the pair, in the vocabulary of the http record.
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

/** Values of the `state` field. */
export const REDIS_STATES = ['complete', 'no_reply', 'unanswered', 'incomplete', 'orphan', 'message', 'invalid'] as const;

export const REDIS_FIELDS: readonly FieldDef[] = [
  ...identityFields('Time of the first byte of the command (of the reply, for a reply without a command; of the message, for a pushed message).'),
  f('trans_depth', 'int', 'tcpkit', 'Number of this command in the connection, from 1 (commands lost in a capture gap count as one); null for replies without a command and pushed messages.'),
  f('cmd_name', 'string', 'zeek', "The command's name (its first word) in upper case (Zeek's cmd.name keeps the case as sent)."),
  f('cmd_key', 'string', 'zeek', "The key, for the commands Zeek knows to have one, at the position Zeek takes it (src/analyzer/protocol/redis/redis.spicy: GET, SET, DEL, HSET ... the first argument; BITOP the second; BLMPOP the third): Zeek's cmd.key."),
  f('cmd_value', 'string', 'zeek', "The value, for the commands Zeek knows to have one (SET, APPEND, GETSET, HGET ... the second argument): Zeek's cmd.value. Inline commands are unquoted as Redis does (Zeek keeps the quotes)."),
  f('cmd_success', 'bool', 'zeek', "The reply is not an error: Zeek's success, with the cmd_ prefix because a field named success would turn the bare word of tcpkit's filters (--where 'handshake=success') into a field; null when no reply came or none was due."),
  f('reply_value', 'string', 'zeek', "The reply as Zeek's reply.value writes it: a simple string, bulk string or integer as its text, an error without its '-' (ERR unknown command ...), an array as [a, b, [c, d]], a map as {k: v}, a null as the empty string; RESP3 attributes are left out. Cut at 8192 characters with an ellipsis."),
  f('key', 'string', 'tcpkit', "The command's first argument (the key for most commands; null for commands without arguments and for AUTH and HELLO ... AUTH, whose arguments are credentials)."),
  f('key_pattern', 'string', 'tcpkit', 'key with every run of digits replaced by ? (user:123:cart becomes user:?:cart), for grouping commands by the keys they touch.'),
  f('fingerprint', 'string', 'tcpkit', 'What groups like commands (tcpsummary --by fingerprint): the command name and key_pattern (GET user:?:cart), the name alone for commands without a key; null for pushed messages and replies without a command.'),
  f('args', 'int', 'tcpkit', 'Number of arguments after the command name.'),
  f('inline', 'bool', 'tcpkit', "The command was sent inline (a line of words, as telnet or redis-cli's PING sends), not as a RESP array."),
  f('queued', 'bool', 'tcpkit', 'The command was sent inside MULTI ... EXEC: its reply is QUEUED, and its result is an element of the EXEC reply.'),
  f('request_bytes', 'int', 'tcpkit', 'Bytes of the command as sent (its RESP array, or its line with the line end).'),
  f('reply_type', 'string', 'tcpkit', 'RESP type of the reply: simple_string, error, integer, bulk_string, array, null, boolean, double, big_number, bulk_error, verbatim_string, map, set, push (RESP3); null_bulk_string and null_array for RESP2 nulls.'),
  f('error_prefix', 'string', 'tcpkit', "First word of an error reply when it is in upper case (ERR, WRONGTYPE, NOAUTH, MOVED, ...): Redis's error code."),
  f('reply_bytes', 'int', 'tcpkit', 'Bytes of the reply (all of its replies, for a SUBSCRIBE of several channels); a bulk string of any size is counted, never kept.'),
  f('reply_elements', 'int', 'tcpkit', 'Number of elements of an array, set or push reply, or of pairs of a map reply (EXEC: one per queued command).'),
  f('replies', 'int', 'tcpkit', 'Replies the command got: 1, or one per channel for SUBSCRIBE and its kin (their confirmations); 0 without a reply.'),
  f('channel', 'string', 'tcpkit', 'For a pushed message: its channel (and for a pmessage, the channel, not the pattern).'),
  f('reply_ts', 'time', 'tcpkit', 'Time of the first byte of the reply.'),
  f('latency_ms', 'float', 'tcpkit', 'Milliseconds from the last byte of the command to the first byte of its reply: the time the server took (as the http record\'s latency_ms). Negative when the reply began before the command ended.'),
  f('duration_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the command to the last byte of its reply: the time the client waited.'),
  f('state', 'string', 'tcpkit', 'complete; no_reply (none was due: CLIENT REPLY OFF or SKIP in force); unanswered (no reply before the connection ended); incomplete (a capture gap cut the command or its reply, or the reply was lost in one); orphan (a reply without a command: the capture began mid-connection); message (a message pushed to a subscribed connection: pub/sub, RESP3 push); invalid (the bytes broke RESP, e.g. an unbalanced quote in an inline command: see problem).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete: e.g. "unbalanced quotes in inline command", "reply lost in a capture gap", "bulk length out of range".'),
];

export const REDIS_SCHEMA: RecordSchema = {
  kind: 'redis',
  doc: 'One record per Redis command with its reply, per reply without a command, and per message pushed to a subscribed connection (tcpanalyze --decode redis).',
  fields: REDIS_FIELDS,
};
