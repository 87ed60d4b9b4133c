/**
 * The fields every transaction record (http, dns, ssl, ...) starts with:
 * when it began and which connection it belongs to, in the conn record's
 * names and roles, so `uid` (or `community_id`) joins it to its conn record
 * and to Zeek's or Suricata's logs of the same traffic.
 */
import type { FieldDef } from './schema.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

/** `ts` (with the kind's own meaning), the connection's identity, and whether the transaction failed. */
export function identityFields(tsDoc: string): FieldDef[] {
  return [
    f('ts', 'time', 'zeek', tsDoc),
    f('uid', 'string', 'zeek', "The connection's uid, as in its conn record."),
    f('community_id', 'string', 'community-id', "The connection's Community ID v1, as in its conn record."),
    f('orig_h', 'string', 'zeek', "The connection's originator address (the conn record's orig_h; Zeek's id.orig_h)."),
    f('orig_p', 'int', 'zeek', "The connection's originator port."),
    f('resp_h', 'string', 'zeek', "The connection's responder address."),
    f('resp_p', 'int', 'zeek', "The connection's responder port."),
    f('failed', 'bool', 'tcpkit', "The transaction failed, in its protocol's meaning (HTTP: status 4xx or 5xx, or no response; DNS: an rcode other than NOERROR, or no response; TLS: a fatal alert, or no ServerHello); what tcpsummary counts as errors and the conn record as failed_transactions."),
  ];
}
