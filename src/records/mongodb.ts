/**
 * The MongoDB record (`record: "mongodb"`): one per request (an OP_MSG
 * command, a legacy OP_QUERY, OP_GET_MORE, OP_INSERT ...) with its reply,
 * paired by requestID and responseTo, and one per reply no request explains.
 * Zeek has no MongoDB log; names follow the wire protocol's
 * (mongodb.com/docs/manual/reference/mongodb-wire-protocol) and the
 * server's reply fields (ok, code, codeName, errmsg, n), and Packetbeat's
 * where it has one (its mongodb.cursorId, numberReturned), in the
 * vocabulary of the other transaction records.
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

/** Values of the `state` field. */
export const MONGODB_STATES = ['complete', 'no_reply', 'unanswered', 'incomplete', 'orphan', 'invalid'] as const;

export const MONGODB_FIELDS: readonly FieldDef[] = [
  ...identityFields('Time of the first byte of the request (of the reply, for a reply without a request).'),
  f('request_id', 'int', 'tshark', "The request's requestID (tshark mongo.request_id); for a reply without a request, the reply's."),
  f('response_to', 'int', 'tshark', "The reply's responseTo (tshark mongo.response_to): the requestID it answers."),
  f('opcode_name', 'string', 'tshark', 'Name of the opcode of the request (the value names of tshark mongo.opcode): OP_MSG, OP_QUERY, OP_GET_MORE, OP_INSERT, OP_UPDATE, OP_DELETE, OP_KILL_CURSORS, OP_COMMAND (inside OP_COMPRESSED: the original opcode, and compressor says which).'),
  f('reply_opcode_name', 'string', 'tshark', 'Name of the opcode of the reply: OP_MSG, OP_REPLY or OP_COMMANDREPLY.'),
  f('command', 'string', 'tcpkit', "The command: the first field's name of an OP_MSG or OP_COMMAND body, or of an OP_QUERY to a database's $cmd collection (find, insert, aggregate, getMore, hello, saslStart, ...); for the other legacy opcodes what they do: find, getMore, insert, update, delete, killCursors."),
  f('database', 'string', 'tcpkit', "The database: the command's $db, or the part of a legacy namespace before its first dot."),
  f('collection', 'string', 'tcpkit', "The collection: the command's first value when it is a string (find: \"users\"), getMore's collection, or a legacy namespace's part after the database."),
  f('filter_shape', 'string', 'tcpkit', "The query's shape: field names with the values replaced by ? ({name: ?, age: {$gt: ?}}): find's filter, count's or distinct's query, the first update's or delete's q, an aggregate's pipeline, a legacy query's selector; cut at 8192 characters."),
  f('fingerprint', 'string', 'tcpkit', 'What groups like requests: database.collection.command and the filter shape (shop.users.find {name: ?}); the command alone when there is no collection.'),
  f('request_docs', 'int', 'tcpkit', 'Documents the request carries: an insert\'s documents, an update\'s or delete\'s statements (inline or in an OP_MSG document sequence), a legacy OP_INSERT\'s documents.'),
  f('ok', 'float', 'tcpkit', "The reply's ok (1 success, 0 failure)."),
  f('error_code', 'int', 'tcpkit', "The reply's code (or the first write error's, or the write concern error's, or a legacy $err's)."),
  f('error_name', 'string', 'tcpkit', "The reply's codeName (or the first write error's)."),
  f('error_msg', 'string', 'tcpkit', "The reply's errmsg (or the first write error's, the write concern error's, or a legacy query failure's $err)."),
  f('write_errors', 'int', 'tcpkit', "Number of the reply's writeErrors."),
  f('n', 'int', 'tcpkit', "The reply's n: documents inserted, matched or deleted, or counted."),
  f('docs_returned', 'int', 'tcpkit', "Documents the reply returns: a cursor's firstBatch or nextBatch, or an OP_REPLY's numberReturned (Packetbeat's numberReturned)."),
  f('cursor_id', 'string', 'tcpkit', "The reply's cursor id (its decimal text: an int64), when not 0: more documents wait for getMore (Packetbeat's cursorId)."),
  f('compressor', 'string', 'tcpkit', 'Compressor of an OP_COMPRESSED request or reply: noop, snappy, zlib, zstd (or unknown-N).'),
  f('checksum', 'bool', 'tcpkit', 'The OP_MSG request carries a CRC-32C checksum (flag bit 0).'),
  f('request_bytes', 'int', 'tcpkit', 'Bytes of the request message as sent (its messageLength).'),
  f('reply_bytes', 'int', 'tcpkit', 'Bytes of the reply message as sent.'),
  f('reply_ts', 'time', 'tcpkit', 'Time of the first byte of the reply.'),
  f('latency_ms', 'float', 'tcpkit', 'Milliseconds from the last byte of the request to the first byte of the reply: the time the server took (as the http record\'s latency_ms).'),
  f('duration_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the request to the last byte of the reply.'),
  f('state', 'string', 'tcpkit', 'complete; no_reply (none was due: a legacy OP_INSERT, OP_UPDATE, OP_DELETE or OP_KILL_CURSORS, or an OP_MSG with moreToCome); unanswered (no reply before the connection ended); incomplete (a capture gap cut the request or the reply, or the reply was lost in one); orphan (a reply whose responseTo names no request seen); invalid (the bytes broke the wire protocol or BSON: see problem).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete, or what could not be read: e.g. "message of 3145850 bytes: read its first 1048592", "zstd frame without its content size: not decompressed".'),
];

export const MONGODB_SCHEMA: RecordSchema = {
  kind: 'mongodb',
  doc: 'One record per MongoDB request with its reply, paired by requestID and responseTo (tcpanalyze --decode mongodb).',
  fields: MONGODB_FIELDS,
};
