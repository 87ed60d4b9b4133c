/**
 * The HTTP transaction record (`record: "http"`): one per request/response
 * pair, written when the response is complete (or when the connection ends
 * with a request unanswered). Names follow Zeek's http.log where Zeek has
 * the field, with Zeek's meaning (scripts/base/protocols/http/main.zeek);
 * tcpkit adds timing, content headers and the state of the pair.
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

/** Values of the `state` field. */
export const HTTP_STATES = ['complete', 'incomplete', 'unanswered', 'orphan', 'invalid', 'upgraded'] as const;

export const HTTP_FIELDS: readonly FieldDef[] = [
  ...identityFields('Time of the first byte of the request (of the response for a response without a request), as Zeek.'),
  f('trans_depth', 'int', 'zeek', 'Number of this request/response pair in the connection, from 1 (Zeek: the pipelined depth).'),
  f('method', 'string', 'zeek', 'Request method (GET, POST, ...), as sent.'),
  f('host', 'string', 'zeek', 'Value of the Host header, port included when sent.'),
  f('uri', 'string', 'zeek', "Request target with its %-escapes decoded, as Zeek's unescape_URI decodes them (%XX and %uXXXX; the target as sent is request_uri)."),
  f('route', 'string', 'tcpkit', "The request's path with variable segments replaced, for grouping: /users/123/orders?x=1 becomes /users/{id}/orders ({id} digits, {uuid}, {date}, {hex} 16+ hex digits, {token} 16+ letters and digits, {long} over 64 characters; src/protocols/http-route.ts)."),
  f('referrer', 'string', 'zeek', 'Value of the Referer header.'),
  f('version', 'string', 'zeek', "HTTP version of the response's status line (Zeek's meaning), e.g. 1.1; empty without a response."),
  f('user_agent', 'string', 'zeek', 'Value of the User-Agent header.'),
  f('origin', 'string', 'zeek', 'Value of the Origin header.'),
  f('request_body_len', 'int', 'zeek', 'Request body bytes after removing the chunked transfer coding, and, for gzip or deflate content, uncompressed (Zeek\'s meaning).'),
  f('response_body_len', 'int', 'zeek', 'Response body bytes, counted as request_body_len.'),
  f('status_code', 'int', 'zeek', 'Status code of the final response.'),
  f('status_msg', 'string', 'zeek', 'Reason phrase of the final response.'),
  f('info_code', 'int', 'zeek', 'Last 1xx informational status code before the final response (100 Continue, 101 Switching Protocols also as the final one).'),
  f('info_msg', 'string', 'zeek', 'Reason phrase of that 1xx response.'),
  f('username', 'string', 'zeek', 'User name of Basic authentication (Authorization header), as Zeek; the password is never kept.'),
  f('request_version', 'string', 'tshark', 'HTTP version of the request line (tshark http.request.version without "HTTP/"), e.g. 1.1; 0.9 for a request line without one.'),
  f('request_uri', 'string', 'tshark', 'Request target exactly as sent (tshark http.request.uri).'),
  f('request_content_type', 'string', 'tcpkit', 'Content-Type of the request.'),
  f('content_type', 'string', 'tshark', 'Content-Type of the response (tshark http.content_type).'),
  f('content_encoding', 'string', 'tshark', 'Content-Encoding of the response (tshark http.content_encoding).'),
  f('response_ts', 'time', 'tcpkit', 'Time of the first byte of the final (non-1xx) response.'),
  f('request_end_ts', 'time', 'tcpkit', 'Time of the last byte of the request (its body included).'),
  f('response_end_ts', 'time', 'tcpkit', 'Time of the last byte of the response.'),
  f('latency_ms', 'float', 'tcpkit', 'Milliseconds from the last byte of the request to the first byte of the final response: the time the server took (tshark http.time measures from the first request frame). Negative when the server answered before the request was complete.'),
  f('duration_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the request to the last byte of the response: the time the client waited.'),
  f('state', 'string', 'tcpkit', 'complete (request and response seen whole), incomplete (a capture gap cut the request or the response: counts may be short), unanswered (no response before the connection ended), orphan (a response without a request, e.g. the capture began mid-stream), invalid (the bytes broke HTTP; see problem), upgraded (101 Switching Protocols or a CONNECT tunnel: the connection is no longer HTTP after this pair; see upgrade).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete: e.g. "gap in response body", "header block over 65536 bytes", "bad chunk size".'),
  f('upgrade', 'string', 'tcpkit', 'What the connection became after this pair: the Upgrade header of a 101 response in lower case (websocket, h2c, ...), or "connect" for a CONNECT tunnel.'),
];

export const HTTP_SCHEMA: RecordSchema = {
  kind: 'http',
  doc: 'One record per HTTP/1.x request/response pair (tcpanalyze --decode http).',
  fields: HTTP_FIELDS,
};
