/**
 * One line about a transaction record, for the marks `tcpanalyze --follow
 * --decode` puts in the followed text: `[http 2: GET example.com/a -> 200
 * OK; latency 12.345 ms]`. The square brackets match tshark's own
 * "[N bytes missing in capture file]" lines in follow text.
 */
import type { RecordValues } from '../records/schema.js';

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : v === null || v === undefined || v === '' ? null : String(v));

/** What each kind's line says between its name and the timing. */
const WHAT: Record<string, (r: RecordValues) => string> = {
  http: (r) => {
    const req = [str(r['method']) ?? '-', (str(r['host']) ?? '') + (str(r['uri']) ?? '')].join(' ').trimEnd();
    const code = str(r['status_code']);
    return code === null ? req : `${req} -> ${code}${str(r['status_msg']) !== null ? ' ' + str(r['status_msg']) : ''}`;
  },
  dns: (r) => {
    const q = `${str(r['qtype_name']) ?? str(r['qtype']) ?? '-'} ${str(r['query']) ?? '-'}`;
    const rc = str(r['rcode_name']) ?? str(r['rcode']);
    return rc === null ? q : `${q} -> ${rc}`;
  },
  ssl: (r) => {
    const parts = [str(r['version']) ?? 'handshake', str(r['server_name'])].filter((x) => x !== null).join(' ');
    const alert = str(r['last_alert']);
    return `${parts}${r['established'] === true ? ' -> established' : ''}${alert !== null ? ` -> alert ${alert}` : ''}`;
  },
  redis: (r) => {
    const cmd = [str(r['cmd_name']), str(r['key'])].filter((x) => x !== null).join(' ') || (str(r['channel']) !== null ? `message on ${str(r['channel'])}` : '-');
    const err = str(r['error_prefix']);
    const reply = err !== null ? `error ${err}` : str(r['reply_type']);
    return reply === null ? cmd : `${cmd} -> ${reply}`;
  },
  mongodb: (r) => {
    const what = str(r['fingerprint']) ?? [str(r['command']) ?? str(r['opcode_name']), str(r['database'])].filter((x) => x !== null).join(' ');
    const err = str(r['error_name']) ?? str(r['error_code']);
    return err !== null ? `${what} -> error ${err}` : r['ok'] === 1 || r['ok'] === true ? `${what} -> ok` : what;
  },
  mysql: (r) => {
    const what = [str(r['cmd']) ?? '-', str(r['arg'])].filter((x) => x !== null).join(' ');
    const err = str(r['error_code']);
    return err !== null ? `${what} -> error ${err}${str(r['sql_state']) !== null ? ' ' + str(r['sql_state']) : ''}` : r['success'] === true ? `${what} -> ok` : what;
  },
  postgresql: (r) => {
    const what = [str(r['frontend']) ?? '-', str(r['frontend_arg'])].filter((x) => x !== null).join(' ');
    const err = str(r['sql_state']);
    return err !== null ? `${what} -> error ${err}` : str(r['tag']) !== null ? `${what} -> ${str(r['tag'])}` : r['success'] === true ? `${what} -> ok` : what;
  },
};

/** Fields every transaction kind shares, left out of the generic line. */
const IDENTITY = new Set(['record', 'ts', 'uid', 'community_id', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'failed', 'state', 'problem', 'latency_ms', 'duration_ms']);

/** A kind without its own line: its first three non-empty fields after the connection's identity. */
function generic(r: RecordValues): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (IDENTITY.has(k) || k.endsWith('_ts')) continue;
    const s = str(v);
    if (s === null || typeof v === 'object') continue;
    out.push(`${k}=${s.length > 60 ? s.slice(0, 59) + '…' : s}`);
    if (out.length === 3) break;
  }
  return out.join(' ');
}

/** `[kind n: what; latency x ms; problem]`, n counting the connection's transactions from 1. */
export function transactionLabel(kind: string, n: number, r: RecordValues): string {
  const what = (WHAT[kind] ?? generic)(r).replace(/[\r\n]+/g, ' ');
  const tail: string[] = [];
  if (typeof r['latency_ms'] === 'number') tail.push(`latency ${r['latency_ms']} ms`);
  if (typeof r['duration_ms'] === 'number') tail.push(`duration ${r['duration_ms']} ms`);
  const problem = str(r['problem']);
  if (problem !== null) tail.push(problem);
  else if (r['failed'] === true) tail.push('failed');
  return `[${kind} ${n}: ${what}${tail.length > 0 ? '; ' + tail.join('; ') : ''}]`;
}
