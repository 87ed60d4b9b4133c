/**
 * The TLS handshake record (`record: "ssl"`, Zeek's log name): one per TLS
 * handshake, normally one per connection, written when the connection ends.
 * Names and meanings follow Zeek's ssl.log (scripts/base/protocols/ssl/
 * main.zeek) and, for the extras, the fields its ssl-log-ext policy adds
 * (scripts/policy/protocols/ssl/ssl-log-ext.zeek): numbers stay numbers, as
 * Zeek logs them. tcpkit adds the JA3/JA3S and JA4 fingerprints, timing,
 * record counts and the state of the handshake. DTLS and QUIC are not
 * decoded (TCP only).
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string, items?: FieldDef['items']): FieldDef => (items ? { name, type, vocab, doc, items } : { name, type, vocab, doc });

/** Values of the `state` field. */
export const SSL_STATES = ['complete', 'incomplete', 'unanswered', 'alert', 'invalid'] as const;

export const SSL_FIELDS: readonly FieldDef[] = [
  ...identityFields('Time of the first byte of the (first) ClientHello; of the first TLS record seen when the capture has no ClientHello.'),
  f('version', 'string', 'zeek', 'Negotiated version as Zeek prints it (TLSv10, TLSv11, TLSv12, TLSv13, TLSv13-draft23, SSLv3, unknown-N): the ServerHello\'s supported_versions extension when present (TLS 1.3), else its legacy version.'),
  f('cipher', 'string', 'zeek', 'Cipher suite the server chose, by its IANA name (unknown-N when not registered).'),
  f('curve', 'string', 'zeek', 'Key exchange group: the named curve of an ECDHE ServerKeyExchange (TLS 1.2 and before) or the group of the ServerHello\'s key_share (TLS 1.3).'),
  f('server_name', 'string', 'zeek', 'First host name of the ClientHello\'s server_name extension (SNI).'),
  f('resumed', 'bool', 'zeek', 'The session was resumed (Zeek\'s rules): TLS 1.2 and before, the ServerHello echoes the client\'s non-empty session id, or the client sends ChangeCipherSpec without a ClientKeyExchange after offering a session ticket; TLS 1.3, the server accepts the client\'s pre_shared_key.'),
  f('last_alert', 'string', 'zeek', 'Description of the last plaintext alert of either side (handshake_failure, protocol_version, ...). Alerts sent after encryption started cannot be read.'),
  f('next_protocol', 'string', 'zeek', 'Application protocol the server selected by ALPN (h2, http/1.1, ...).'),
  f('established', 'bool', 'zeek', 'The handshake completed: an encrypted record was seen once both sides had switched to encryption (Zeek\'s ssl_established): ChangeCipherSpec for TLS 1.2 and before, the first application-data record of each side for TLS 1.3.'),
  f('ssl_history', 'string', 'zeek', 'Zeek\'s handshake history, one letter per message, the client\'s in upper case, up to the handshake\'s end (when established; Zeek\'s letters): c client_hello, s server_hello, j hello_retry_request, x certificate, k server_key_exchange, r certificate_request, n server_hello_done, y certificate_verify, g client_key_exchange, f finished, t new_session_ticket, u certificate_status, h hello_request, v hello_verify_request, e end_of_early_data, o encrypted_extensions, w certificate_url, a supplemental_data, p key_update, m message_hash, z other, i change_cipher_spec, l alert, b heartbeat. At most 100 letters.'),
  f('server_version', 'int', 'zeek', 'Legacy version number of the ServerHello (ssl-log-ext; 771 = 0x0303).'),
  f('client_version', 'int', 'zeek', 'Legacy version number of the ClientHello (ssl-log-ext).'),
  f('client_ciphers', 'list', 'zeek', 'Cipher suite numbers the client offered, in order, GREASE values included (ssl-log-ext).', 'int'),
  f('ssl_client_exts', 'list', 'zeek', 'Extension type numbers of the ClientHello, in order, GREASE included (ssl-log-ext; Zeek appends those of a second ClientHello too, tcpkit keeps the first).', 'int'),
  f('ssl_server_exts', 'list', 'zeek', 'Extension type numbers of the ServerHello, in order (ssl-log-ext).', 'int'),
  f('ticket_lifetime_hint', 'int', 'zeek', 'Lifetime hint (seconds) of a plaintext NewSessionTicket (TLS 1.2 and before; ssl-log-ext).'),
  f('dh_param_size', 'int', 'zeek', 'Bits of the server\'s public value (Ys) in a finite-field DHE ServerKeyExchange (ssl-log-ext).'),
  f('point_formats', 'list', 'zeek', 'EC point formats of the ClientHello (ssl-log-ext).', 'int'),
  f('client_curves', 'list', 'zeek', 'Supported groups of the ClientHello, in order, GREASE included (ssl-log-ext).', 'int'),
  f('orig_alpn', 'list', 'zeek', 'ALPN protocols the client offered, in order (ssl-log-ext).'),
  f('client_supported_versions', 'list', 'zeek', 'Versions of the ClientHello\'s supported_versions extension, GREASE included (ssl-log-ext).', 'int'),
  f('server_supported_version', 'int', 'zeek', 'Version of the ServerHello\'s supported_versions extension (ssl-log-ext).'),
  f('psk_key_exchange_modes', 'list', 'zeek', 'PSK key exchange modes the client offered (ssl-log-ext).', 'int'),
  f('client_key_share_groups', 'list', 'zeek', 'Groups of the ClientHello\'s key_share entries (ssl-log-ext).', 'int'),
  f('server_key_share_group', 'int', 'zeek', 'Group of the ServerHello\'s key_share (or the HelloRetryRequest\'s selected group; ssl-log-ext).'),
  f('client_comp_methods', 'list', 'zeek', 'Compression methods the client offered (ssl-log-ext).', 'int'),
  f('sigalgs', 'list', 'zeek', 'Low byte (signature) of each signature_algorithms entry of the ClientHello, in order (ssl-log-ext).', 'int'),
  f('hashalgs', 'list', 'zeek', 'High byte (hash) of each signature_algorithms entry of the ClientHello, in order (ssl-log-ext).', 'int'),
  f('ech_kdf_id', 'int', 'zeek', 'HPKE KDF id of the ClientHello\'s encrypted_client_hello extension (ssl-log-ext).'),
  f('ech_aead_id', 'int', 'zeek', 'HPKE AEAD id of the ClientHello\'s encrypted_client_hello extension (ssl-log-ext).'),
  f('ja3', 'string', 'ja3', 'JA3 of the (first) ClientHello: MD5 of "version,ciphers,extensions,groups,point formats" in decimal, GREASE removed (salesforce/ja3).'),
  f('ja3s', 'string', 'ja3', 'JA3S of the ServerHello: MD5 of "version,cipher,extensions" in decimal (salesforce/ja3).'),
  f('ja4', 'string', 'ja4', 'JA4 of the (first) ClientHello (FoxIO JA4 specification): t, version (from supported_versions), d/i for SNI, cipher and extension counts, first and last ALPN characters, then truncated SHA-256 of the sorted ciphers and of the sorted extensions (SNI and ALPN left out) with the signature algorithms; GREASE ignored.'),
  f('hrr', 'bool', 'tcpkit', 'The server answered the first ClientHello with a HelloRetryRequest (TLS 1.3).'),
  f('last_alert_level', 'string', 'tcpkit', 'Level of the last plaintext alert: warning or fatal.'),
  f('last_alert_by', 'string', 'tcpkit', 'Who sent the last plaintext alert: client or server.'),
  f('server_hello_ts', 'time', 'tcpkit', 'Time of the first byte of the server\'s first hello (ServerHello or HelloRetryRequest).'),
  f('established_ts', 'time', 'tcpkit', 'Time of the first byte of the record that established the session (see established).'),
  f('latency_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the ClientHello to the first byte of the server\'s first hello (ServerHello or HelloRetryRequest): the time the server took to answer.'),
  f('handshake_ms', 'float', 'tcpkit', 'Milliseconds from the first byte of the ClientHello to the first byte of the record that established the session (see established): for TLS 1.2 and before the server\'s encrypted Finished (full handshake) or the client\'s (resumption), for TLS 1.3 the client\'s first encrypted record (its Finished).'),
  f('client_records', 'int', 'tcpkit', 'TLS records the client sent (handshake, alerts, ChangeCipherSpec and encrypted records; only record headers are read once encrypted).'),
  f('server_records', 'int', 'tcpkit', 'TLS records the server sent.'),
  f('state', 'string', 'tcpkit', 'complete (established), alert (a fatal alert ended the handshake; see last_alert), unanswered (a ClientHello and no answer before the connection ended), incomplete (the connection ended or a capture gap cut the handshake after the server answered, or the capture missed the ClientHello), invalid (the bytes broke TLS: a record or handshake length lie, an extension overrunning its message, a message over the size limit; see problem).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete, e.g. "gap of 1460 bytes in the server\'s handshake", "record length 40000 over 18432", "ClientHello extension 0x0010 overruns its message".'),
];

export const SSL_SCHEMA: RecordSchema = {
  kind: 'ssl',
  doc: 'One record per TLS handshake (tcpanalyze --decode tls).',
  fields: SSL_FIELDS,
};
