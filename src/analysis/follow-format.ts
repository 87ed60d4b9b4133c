/**
 * The text of `tshark -q -z follow,tcp,<fmt>,<stream>` (Wireshark 4.0
 * ui/cli/tap-follow.c): a header block, then one "chunk" per stream record in
 * the order the records were made, the second node's chunks prefixed with a
 * tab, then a closing separator line.
 *
 * - hex:   hexdump lines of 16 bytes; the offset counts the bytes of that
 *          node's earlier chunks (so it continues across chunks), each chunk
 *          starts a new line; one trailing space of the text column is cut
 *          (follow_print_hex: `if (line[kk - 1] == ' ') kk--`), even when it
 *          is a data byte.
 * - ascii: the chunk length on a line, then the bytes with everything outside
 *          0x20..0x7e except CR and LF shown as '.', then a newline.
 * - raw:   the bytes as lowercase hex on one line.
 *
 * Missing bytes appear as a chunk holding the text
 * "[N bytes missing in capture file]" plus its terminating NUL byte, exactly
 * as tshark stores it (so it counts 1 + strlen bytes towards hex offsets).
 * tshark has no buffer cap; tcpkit's markers for what a cap costs take the
 * same form (notes in brackets, NUL-terminated): bytes given up at the cap
 * before they arrived, and bytes that came after their range was given up.
 */

export type FollowFormat = 'raw' | 'hex' | 'ascii';
export const FOLLOW_FORMATS: readonly FollowFormat[] = ['raw', 'hex', 'ascii'];

export const FOLLOW_SEPARATOR = '===================================================================\n';

/** "addr:port", IPv6 in brackets (as tshark prints Node lines). */
export function followNode(addr: string, port: number, ipVersion: number): string {
  return ipVersion === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function followHeader(fmt: FollowFormat, filter: string, node0: string, node1: string): string {
  return `\n${FOLLOW_SEPARATOR}Follow: tcp,${fmt}\nFilter: ${filter}\nNode 0: ${node0}\nNode 1: ${node1}\n`;
}

/**
 * The bytes tshark's follow stores in place of `len` missing bytes; `cap`
 * (the per-stream buffer cap in bytes) for a hole given up at that cap, whose
 * bytes may still come later (tshark holds everything and would show them).
 */
export function gapMarker(len: number, cap = 0): Uint8Array {
  return note(cap > 0 ? `[${len} bytes not reassembled: the ${cap}-byte buffer cap of this stream was reached before they came]` : `[${len} bytes missing in capture file]`);
}

/** `len` bytes that came after the buffer cap had given their range up (not shown). */
export function lateMarker(len: number): Uint8Array {
  return note(`[${len} bytes came after the buffer cap had given them up: not shown]`);
}

function note(s: string): Uint8Array {
  const b = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

const HEX = '0123456789abcdef';
const HEX_UPPER = '0123456789ABCDEF';

function printable(c: number): boolean {
  return c >= 0x20 && c < 0x7f;
}

/**
 * One chunk as text. `pos` is the node's byte count before this chunk (hex
 * offsets); `server` means Node 1 (tab-indented).
 */
export function formatChunk(fmt: FollowFormat, server: boolean, pos: number, b: Uint8Array, len: number): string {
  const tab = server ? '\t' : '';
  if (fmt === 'raw') {
    let s = tab;
    for (let i = 0; i < len; i++) s += HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
    return s + '\n';
  }
  if (fmt === 'ascii') {
    let s = `${tab}${len}\n`;
    for (let i = 0; i < len; i++) {
      const c = b[i]!;
      s += c === 0x0d || c === 0x0a || printable(c) ? String.fromCharCode(c) : '.';
    }
    return s + '\n';
  }
  let out = '';
  for (let line = 0; line < len; line += 16) {
    const n = Math.min(16, len - line);
    // the offset is a 32-bit counter in tshark (%08X)
    let off = '';
    for (let v = (pos + line) % 4294967296, k = 0; k < 8 || v > 0; k++, v = Math.floor(v / 16)) off = HEX_UPPER[v % 16]! + off;
    let hex = '';
    let asc = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' ';
      if (i < n) {
        const c = b[line + i]!;
        hex += HEX[c >> 4]! + HEX[c & 15]! + ' ';
        asc += printable(c) ? String.fromCharCode(c) : '.';
        if (i === 7) asc += ' ';
      } else hex += '   ';
    }
    // tshark drops one trailing space: the column-8 gap, or a last byte that is a space
    if (asc.endsWith(' ')) asc = asc.slice(0, -1);
    out += `${tab}${off}  ${hex} ${asc}\n`;
  }
  return out;
}
