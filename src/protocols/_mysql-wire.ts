/**
 * MySQL client/server protocol vocabulary (MySQL's "Client/Server Protocol"
 * documentation, include/mysql_com.h; MariaDB's protocol pages for its
 * extensions): capability and status flags, command codes with Zeek's
 * names, and a bounded reader for the protocol's integer and string types.
 */

// capability flags (the client's and the server's; the upper 16 bits are the "extended" ones)
export const CLIENT_LONG_PASSWORD = 0x1; // MariaDB: CLIENT_MYSQL (when clear, MariaDB's extended flags follow)
export const CLIENT_CONNECT_WITH_DB = 0x8;
export const CLIENT_COMPRESS = 0x20;
export const CLIENT_LOCAL_FILES = 0x80;
export const CLIENT_PROTOCOL_41 = 0x200;
export const CLIENT_SSL = 0x800;
export const CLIENT_TRANSACTIONS = 0x2000;
export const CLIENT_SECURE_CONNECTION = 0x8000;
export const CLIENT_MULTI_STATEMENTS = 0x10000;
export const CLIENT_MULTI_RESULTS = 0x20000;
export const CLIENT_PLUGIN_AUTH = 0x80000;
export const CLIENT_CONNECT_ATTRS = 0x100000;
export const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000;
export const CLIENT_SESSION_TRACK = 0x800000;
export const CLIENT_DEPRECATE_EOF = 0x1000000;
export const CLIENT_ZSTD_COMPRESSION_ALGORITHM = 0x4000000;
export const CLIENT_QUERY_ATTRIBUTES = 0x8000000;

// server status flags
export const SERVER_MORE_RESULTS_EXISTS = 0x8;
export const SERVER_STATUS_CURSOR_EXISTS = 0x40;

// commands
export const COM_SLEEP = 0x00;
export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_FIELD_LIST = 0x04;
export const COM_CREATE_DB = 0x05;
export const COM_DROP_DB = 0x06;
export const COM_STATISTICS = 0x09;
export const COM_PROCESS_INFO = 0x0a;
export const COM_PROCESS_KILL = 0x0c;
export const COM_CHANGE_USER = 0x11;
export const COM_BINLOG_DUMP = 0x12;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;
export const COM_STMT_FETCH = 0x1c;
export const COM_BINLOG_DUMP_GTID = 0x1e;

/** Zeek's command names (scripts/base/protocols/mysql/consts.zeek), by code. */
const NAMES = [
  'sleep', 'quit', 'init_db', 'query', 'field_list', 'create_db', 'drop_db', 'refresh', 'shutdown', 'statistics', 'process_info', 'connect',
  'process_kill', 'debug', 'ping', 'time', 'delayed_insert', 'change_user', 'binlog_dump', 'table_dump', 'connect_out', 'register_slave',
  'stmt_prepare', 'stmt_execute', 'stmt_send_long_data', 'stmt_close', 'stmt_reset', 'set_option', 'stmt_fetch', 'daemon', 'binlog_dump_gtid',
  'reset_connection',
];

export function commandName(code: number): string {
  return NAMES[code] ?? `unknown-${code}`;
}

/** pt-query-digest's name of a command that is not a statement: "administrator command: Init_db" (ucfirst(lc(substr(COM_NAME, 4)))). */
export function adminCommand(code: number): string {
  const n = NAMES[code];
  if (n === undefined) return `administrator command: Unknown-${code}`;
  return 'administrator command: ' + n.charAt(0).toUpperCase() + n.slice(1);
}

/** Commands the server does not answer. */
export function hasNoReply(code: number): boolean {
  return code === COM_QUIT || code === COM_STMT_CLOSE || code === COM_STMT_SEND_LONG_DATA;
}

/** Commands whose packet must hold nothing but the code (a plausibility rule for resynchronisation). */
export function isBareCommand(code: number): boolean {
  return code === COM_QUIT || code === 0x09 || code === 0x0a || code === 0x0e || code === 0x1f || code === 0x0f || code === 0x0b || code === 0x0d || code === 0x1d;
}

/**
 * A bounded reader over buf[pos, end): every read checks what is left first
 * and sets `bad` instead of reading past the end (nothing throws).
 */
export class Reader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  /** A read ran past the end (or met a malformed length). */
  bad = false;

  reset(buf: Uint8Array, off: number, end: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = end;
    this.bad = false;
    return this;
  }

  left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos + 1 > this.end) return this.fail();
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) return this.fail();
    const b = this.buf, p = this.pos;
    this.pos += 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  u24(): number {
    if (this.pos + 3 > this.end) return this.fail();
    const b = this.buf, p = this.pos;
    this.pos += 3;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  }

  u32(): number {
    if (this.pos + 4 > this.end) return this.fail();
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /**
   * A length-encoded integer: the value, -1 for the NULL marker (0xfb).
   * An 8-byte value above 2^53 comes back as a (rounded) number above
   * Number.MAX_SAFE_INTEGER, which callers treat as out of range; 0xff is
   * not an integer (bad).
   */
  lenenc(): number {
    const c = this.u8();
    if (this.bad) return 0;
    if (c < 0xfb) return c;
    if (c === 0xfb) return -1;
    if (c === 0xfc) return this.u16();
    if (c === 0xfd) return this.u24();
    if (c === 0xfe) {
      const lo = this.u32();
      const hi = this.u32();
      return hi * 4294967296 + lo;
    }
    return this.fail();
  }

  skip(n: number): void {
    if (n > this.end - this.pos) {
      this.pos = this.end;
      this.bad = true;
    } else this.pos += n;
  }

  /** Offset of the next NUL from pos (the end when there is none). */
  nul(): number {
    const b = this.buf;
    let i = this.pos;
    while (i < this.end && b[i] !== 0) i++;
    return i;
  }

  private fail(): number {
    this.pos = this.end;
    this.bad = true;
    return 0;
  }
}
