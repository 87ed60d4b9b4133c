/**
 * The UUID prefix of the archive names, as tcp-info picks it: the raw bytes
 * of `-uuid-prefix-file` when given, else m-lab/uuid's
 * `prefix.UnsafeString()`: `<hostname>_<boot time, Unix seconds>_unsafe`,
 * the boot time being now minus /proc/uptime (prefix/prefix.go).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ToolError } from '../../util/errors.js';

/**
 * `<hostname>_<boot time>_unsafe`; `BADHOSTNAME` / `<hostname>_BADBOOTTIME`
 * when those cannot be read, as m-lab/uuid (it never returns an empty prefix).
 */
export function defaultUuidPrefix(host: () => string = hostname, uptime: () => string = () => readFileSync('/proc/uptime', 'latin1'), nowMs = Date.now()): string {
  let h: string;
  try {
    h = host();
  } catch {
    return 'BADHOSTNAME';
  }
  let up: number;
  try {
    const pieces = uptime().split(' ');
    up = pieces.length < 2 ? NaN : Number(pieces[0]);
  } catch {
    up = NaN;
  }
  if (!Number.isFinite(up)) return `${h}_BADBOOTTIME`;
  // Go: now.Add(-time.Duration(uptime*1e6) * time.Microsecond).Unix()
  const bootNs = BigInt(nowMs) * 1_000_000n - BigInt(Math.trunc(up * 1e6)) * 1000n;
  let sec = bootNs / 1_000_000_000n;
  if (bootNs < 0n && bootNs % 1_000_000_000n !== 0n) sec -= 1n;
  return `${h}_${sec}_unsafe`;
}

/** The prefix stored in a file (tcp-info -uuid-prefix-file): its bytes as they are, not trimmed. */
export function readUuidPrefixFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ToolError('UUID_PREFIX_FILE', `cannot read the UUID prefix file: ${(e as Error).message}`, { file: path });
  }
  if (text === '') throw new ToolError('UUID_PREFIX_FILE', 'the UUID prefix file is empty', { file: path });
  return text;
}
