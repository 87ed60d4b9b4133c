/**
 * Terminal tables for any record kind: columns that know their importance,
 * their narrowest useful width and how to shorten a cell, laid out to the
 * terminal's width. When the columns do not fit, the least important go
 * first; the ones kept share the width, each at least its minimum, the more
 * important ones growing to their natural width first. A cell wider than its
 * column is shortened with an ellipsis: at the end for text, at the start
 * for times (the clock part stays), in the middle of the address for an
 * endpoint (the port always stays). `wide` keeps every column at its natural
 * width and never shortens a cell.
 */
import type { FieldDef, RecordSchema, RecordValues } from '../records/schema.js';

export interface Column<R = RecordValues> {
  /** Header text, with the unit where there is one ("rtt ms"). */
  title: string;
  /** Importance: 1 is kept longest; when the width is short, the highest numbers go first. */
  priority: number;
  /** Narrowest width the column is still useful at. */
  min: number;
  /** Natural width: enough for typical cells (a streamed table cannot measure its rows first). */
  width: number;
  align?: 'left' | 'right';
  /** How a too-wide cell is shortened: 'end' (default), 'start' (keeps the end), 'middle' (an address), 'endpoint' (address cut in the middle, port kept). */
  cut?: 'end' | 'start' | 'middle' | 'endpoint';
  /** Cell text of a row. */
  text: (r: R) => string;
  /** A shorter form of the cell, used when the column is narrower than `width` (a clock without its date). */
  short?: (r: R) => string;
  /** Left out, when the width is short, so that the other columns reach their natural width. */
  optional?: boolean;
}

export interface Laid<R> {
  col: Column<R>;
  width: number;
}

const ELLIPSIS = '…';

/** Shortens `s` to `w` characters (code units) the column's way. */
export function cutCell(s: string, w: number, mode: Column['cut'] = 'end'): string {
  if (s.length <= w) return s;
  if (w <= 1) return s.slice(0, w);
  if (mode === 'start') return ELLIPSIS + s.slice(s.length - (w - 1));
  if (mode === 'middle') {
    const head = Math.ceil((w - 1) / 2);
    return s.slice(0, head) + ELLIPSIS + s.slice(s.length - (w - 1 - head));
  }
  if (mode === 'endpoint') {
    // "[2001:db8::1]:443" or "10.0.0.1:443": the port (and a closing bracket) stay whole
    const colon = s.lastIndexOf(':');
    const bracket = s.startsWith('[') && s[colon - 1] === ']';
    const tailLen = s.length - colon + (bracket ? 1 : 0);
    const addr = s.slice(0, s.length - tailLen);
    const tail = s.slice(s.length - tailLen);
    const room = w - tail.length;
    if (colon > 0 && room >= 3) {
      const keep = room - 1;
      const head = Math.ceil(keep / 2);
      return addr.slice(0, head) + ELLIPSIS + addr.slice(addr.length - (keep - head)) + tail;
    }
    return ELLIPSIS + s.slice(s.length - (w - 1)); // not even room for a cut address: the port wins
  }
  return s.slice(0, w - 1) + ELLIPSIS;
}

/**
 * Picks and sizes the columns for `width` characters (Infinity: no limit),
 * `gap` spaces between columns. The order of the columns is kept.
 */
export function fitColumns<R>(cols: readonly Column<R>[], width: number, opts: { gap?: number; wide?: boolean; natural?: readonly number[] } = {}): Laid<R>[] {
  const gap = opts.gap ?? 2;
  const natural = cols.map((c, i) => Math.max(opts.natural?.[i] ?? c.width, c.min));
  if (opts.wide || !Number.isFinite(width)) return cols.map((col, i) => ({ col, width: Math.max(natural[i]!, col.title.length) }));
  // the most important columns whose minimum widths fit
  const byImportance = cols.map((_c, i) => i).sort((a, b) => cols[a]!.priority - cols[b]!.priority || a - b);
  const kept = new Set<number>();
  let used = 0;
  for (const i of byImportance) {
    const need = Math.min(cols[i]!.min, natural[i]!) + (kept.size > 0 ? gap : 0);
    if (used + need > width && kept.size > 0) continue;
    kept.add(i);
    used += need;
  }
  // optional columns make room for the others' natural widths, least important first
  const sumNatural = (): number => [...kept].reduce((a, i) => a + natural[i]!, 0) + gap * (kept.size - 1);
  for (const i of [...byImportance].reverse()) {
    if (sumNatural() <= width) break;
    if (!cols[i]!.optional || !kept.has(i)) continue;
    kept.delete(i);
    used -= Math.min(cols[i]!.min, natural[i]!) + gap;
  }
  const widths = new Map<number, number>();
  for (const i of kept) widths.set(i, Math.min(cols[i]!.min, natural[i]!));
  // the width left grows the kept columns towards their natural width, most important first
  let left = width - used;
  for (const i of byImportance) {
    if (!kept.has(i) || left <= 0) continue;
    const grow = Math.min(natural[i]! - widths.get(i)!, left);
    widths.set(i, widths.get(i)! + grow);
    left -= grow;
  }
  return cols.map((col, i) => (kept.has(i) ? { col, width: widths.get(i)! } : null)).filter((x): x is Laid<R> => x !== null);
}

/** The cells of a row for the laid-out columns: the short form where a column is narrower than its natural width. */
export function rowCells<R>(laid: readonly Laid<R>[], r: R): string[] {
  return laid.map(({ col, width }) => (col.short !== undefined && width < col.width ? col.short(r) : col.text(r)));
}

/** One line of cells in the laid-out columns (trailing spaces trimmed). */
export function tableLine<R>(laid: readonly Laid<R>[], cells: readonly string[], gap = 2, wide = false): string {
  const sep = ' '.repeat(gap);
  return (
    laid
      .map(({ col, width }, i) => {
        const c = wide ? cells[i]! : cutCell(cells[i]!, width, col.cut);
        return col.align === 'right' ? c.padStart(width) : c.padEnd(width);
      })
      .join(sep)
      .trimEnd() + '\n'
  );
}

/** A whole table from rows known in advance: natural widths are measured from the cells. */
export function renderTable<R>(cols: readonly Column<R>[], rows: readonly R[], width: number, wide = false): string {
  const cells = rows.map((r) => cols.map((c) => c.text(r)));
  const natural = cols.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const laid = fitColumns(cols, width, { wide, natural });
  const index = laid.map((l) => cols.indexOf(l.col));
  return tableLine(laid, laid.map((l) => l.col.title), 2, wide) + cells.map((row) => tableLine(laid, index.map((i) => row[i]!), 2, wide)).join('');
}

// ------------------------------------------------------------- cell formats

/** Milliseconds with sensible precision: 0.039, 1.25, 12.3, 325. */
export function fmtMs(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return String(Number(v.toPrecision(2)));
}

/** Seconds: 0.004, 1.250, 42.7, 3601. */
export function fmtSeconds(v: unknown): string {
  const x = typeof v === 'string' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) return '-';
  if (x < 10) return x.toFixed(3);
  if (x < 1000) return x.toFixed(1);
  return x.toFixed(0);
}

/** A count with a unit prefix past 4 digits: 950, 9999, 12.3k, 4.56M, 1.20G. */
export function fmtCount(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a < 10_000) return String(v);
  for (const [d, u] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (a >= d) {
      const x = v / d;
      return (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) + u;
    }
  }
  return String(v);
}

/** "orig/resp" of two values in one cell. */
export function pairCell(a: string, b: string): string {
  return `${a}/${b}`;
}

/** An address and port as one endpoint: "10.0.0.1:443", "[2001:db8::1]:443" (port alone left off when absent). */
export function endpoint(h: unknown, p: unknown): string {
  const host = h === null || h === undefined ? '-' : String(h);
  if (p === null || p === undefined) return host;
  return host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
}

/** Epoch seconds text as the UTC time of day "HH:MM:SS.mmm". */
export function clockTime(ts: unknown): string {
  const c = clock(ts);
  return c.length === 23 ? c.slice(11) : c;
}

/** Epoch seconds text as UTC "YYYY-MM-DD HH:MM:SS.mmm". */
export function clock(ts: unknown): string {
  if (ts === null || ts === undefined) return '-';
  const [sec, frac = '0'] = String(ts).split('.');
  const d = new Date(Number(sec) * 1000);
  if (Number.isNaN(d.getTime())) return String(ts);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${(frac + '000').slice(0, 3)}`;
}

const NATURAL_BY_TYPE: Record<FieldDef['type'], number> = { time: 23, seconds: 9, float: 9, int: 8, bool: 5, string: 14, list: 20 };

/**
 * Columns for any record schema, one per field in schema order (a field's
 * position is its importance): the table any record kind gets without a
 * hand-made column list.
 */
export function schemaColumns(schema: RecordSchema): Column[] {
  return schema.fields.map((f, i) => {
    const numeric = f.type === 'int' || f.type === 'float' || f.type === 'seconds';
    return {
      title: f.name,
      priority: i + 1,
      min: Math.min(Math.max(f.name.length, 4), 8),
      width: Math.max(NATURAL_BY_TYPE[f.type], f.name.length),
      align: numeric ? 'right' : 'left',
      ...(f.type === 'time' ? { cut: 'start' as const } : {}),
      text: (r: RecordValues) => {
        const v = r[f.name];
        if (v === null || v === undefined) return '-';
        if (f.type === 'time') return clock(v);
        if (f.type === 'float') return fmtMs(v);
        return String(v);
      },
    };
  });
}
