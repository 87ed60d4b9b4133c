/**
 * The Thrift compact protocol, write side only, for Parquet's page headers
 * and file footer (parquet-format's parquet.thrift). A struct is a list of
 * [field id, value] pairs written in id order; the value's kind is given
 * with it.
 */

const T_TRUE = 1;
const T_FALSE = 2;
const T_BYTE = 3;
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

export type TValue =
  | { k: 'i8'; v: number }
  | { k: 'i32'; v: number }
  | { k: 'i64'; v: number | bigint }
  | { k: 'bool'; v: boolean }
  | { k: 'bin'; v: string | Uint8Array }
  | { k: 'struct'; v: TStruct }
  | { k: 'list'; elem: 'i32' | 'bin' | 'struct'; v: (number | string | TStruct)[] };

/** Fields of a struct; undefined entries are left out (optional fields). */
export type TStruct = ([number, TValue] | undefined)[];

export const i8 = (v: number): TValue => ({ k: 'i8', v });
export const i32 = (v: number): TValue => ({ k: 'i32', v });
export const i64 = (v: number | bigint): TValue => ({ k: 'i64', v });
export const bool = (v: boolean): TValue => ({ k: 'bool', v });
export const bin = (v: string | Uint8Array): TValue => ({ k: 'bin', v });
export const struct = (v: TStruct): TValue => ({ k: 'struct', v });
export const list = (elem: 'i32' | 'bin' | 'struct', v: (number | string | TStruct)[]): TValue => ({ k: 'list', elem, v });

export class ThriftWriter {
  private buf = Buffer.allocUnsafe(1024);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  private varint(v: bigint): void {
    this.room(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private uvarint(v: number): void {
    this.room(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  private zigzag(v: number | bigint): void {
    const b = BigInt(v);
    this.varint(b >= 0n ? b << 1n : ((-b) << 1n) - 1n);
  }

  private bytes(v: string | Uint8Array): void {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.uvarint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private typeOf(t: TValue): number {
    switch (t.k) {
      case 'i8':
        return T_BYTE;
      case 'i32':
        return T_I32;
      case 'i64':
        return T_I64;
      case 'bool':
        return t.v ? T_TRUE : T_FALSE;
      case 'bin':
        return T_BINARY;
      case 'struct':
        return T_STRUCT;
      case 'list':
        return T_LIST;
    }
  }

  struct(fields: TStruct): void {
    let last = 0;
    for (const f of fields) {
      if (f === undefined) continue;
      const [id, val] = f;
      const type = this.typeOf(val);
      const delta = id - last;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
      else {
        this.byte(type);
        this.zigzag(id);
      }
      last = id;
      this.value(val);
    }
    this.byte(0);
  }

  private value(t: TValue): void {
    switch (t.k) {
      case 'i8':
        this.byte(t.v & 0xff);
        return;
      case 'i32':
      case 'i64':
        this.zigzag(t.v);
        return;
      case 'bool':
        return; // in the field header
      case 'bin':
        this.bytes(t.v);
        return;
      case 'struct':
        this.struct(t.v);
        return;
      case 'list': {
        const et = t.elem === 'i32' ? T_I32 : t.elem === 'bin' ? T_BINARY : T_STRUCT;
        if (t.v.length < 15) this.byte((t.v.length << 4) | et);
        else {
          this.byte(0xf0 | et);
          this.uvarint(t.v.length);
        }
        for (const e of t.v) {
          if (t.elem === 'i32') this.zigzag(e as number);
          else if (t.elem === 'bin') this.bytes(e as string);
          else this.struct(e as TStruct);
        }
      }
    }
  }

  /** The bytes written (a copy). */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** One struct as compact-protocol bytes. */
export function encodeStruct(fields: TStruct): Buffer {
  const w = new ThriftWriter();
  w.struct(fields);
  return w.take();
}
