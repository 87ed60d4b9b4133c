/**
 * The per-cycle record cache of tcp-info (cache/cache.go): the latest record
 * of every connection, keyed by socket cookie, with the previous poll cycle
 * kept apart so that connections missing from a cycle can be reported as
 * closed.
 */
import type { ArchivalRecord } from './archival-record.js';
import { INET_DIAG_MSG_SIZE } from './inet_diag.js';
import { u64At } from './fields.js';

/** The socket cookie of a record (RawIDM bytes 44..51, little-endian). */
export function recordCookie(r: ArchivalRecord): bigint {
  if (r.rawIdm === null || r.rawIdm.length < INET_DIAG_MSG_SIZE) throw new RangeError('record has no RawIDM');
  return u64At(r.rawIdm, 44);
}

export class RecordCache {
  private current = new Map<bigint, ArchivalRecord>();
  private previous = new Map<bigint, ArchivalRecord>();
  cycles = 0;

  /** Stores `r` for this cycle; returns the record of the same cookie from the previous cycle (or null). */
  update(r: ArchivalRecord, cookie = recordCookie(r)): ArchivalRecord | null {
    this.current.set(cookie, r);
    const old = this.previous.get(cookie);
    if (old === undefined) return null;
    this.previous.delete(cookie);
    return old;
  }

  /** Ends a poll cycle; returns the connections not seen in it (closed), by cookie. */
  endCycle(): Map<bigint, ArchivalRecord> {
    const gone = this.previous;
    this.previous = this.current;
    this.current = new Map();
    this.cycles++;
    return gone;
  }
}
