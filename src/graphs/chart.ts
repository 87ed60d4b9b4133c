/**
 * The chart model: what a graph shows, as plain JSON-ready data (numbers in
 * arrays), independent of how it is drawn. src/graphs/series.ts builds it
 * from a connection's SegmentLog; src/report/ draws it as SVG (standalone
 * files, and in the HTML report, where the same drawing code runs in the
 * browser for zoom and pan).
 *
 * A chart has two axes and layers. Each layer is one kind of mark with one
 * style `key` (its colour and legend entry, see src/report/style.ts) and
 * columns of equal length: time `t` (seconds since the connection's first
 * packet) and a value `y`, or a range `lo`..`hi`. Optional columns carry
 * what hovering shows: frame numbers `fr`, tshark analysis bits `an`, TCP
 * flags `tf`, or for decimated buckets (`w` = their width in seconds) the
 * number of segments `n` and the last frame `fr2`.
 */

export type LayerKind =
  /** A segment: a vertical bar from lo to hi with serifs (tcptrace's I-beam). */
  | 'ibeam'
  /** A line that holds its value until the next point (ACK, window). */
  | 'step'
  /** A line through the points. */
  | 'line'
  /** Points. */
  | 'dots'
  /** One glyph per point (a letter, a label or a tick), never thinned. */
  | 'marks'
  /** A vertical line from lo to hi at t (SACK blocks). */
  | 'vseg'
  /** A filled range lo..hi: over [t, t + w) when `w` is set (decimated buckets), [t, t2) with `t2`, else held from each point to the next. */
  | 'band';

export interface Layer {
  key: string;
  kind: LayerKind;
  t: number[];
  y?: number[];
  lo?: number[];
  hi?: number[];
  w?: number;
  t2?: number[];
  fr?: number[];
  an?: number[];
  tf?: number[];
  n?: number[];
  fr2?: number[];
}

export type Unit = 's' | 'bytes' | 'ms' | 'bps' | 'count' | 'pct';

export interface Axis {
  label: string;
  unit: Unit;
  lo: number;
  hi: number;
  /** Logarithmic (histograms of RTT, durations). */
  log?: boolean;
}

export interface Chart {
  id: string;
  title: string;
  x: Axis;
  y: Axis;
  layers: Layer[];
  /** A line under the title (the moving-average window, the decimation). */
  note?: string;
}

/** One direction's graphs: the data one endpoint sent, the ACKs and windows of the other. */
export interface DirCharts {
  /** Whose data: the originator's or the responder's. */
  dir: 'orig' | 'resp';
  /** "sender → receiver". */
  label: string;
  charts: Chart[];
  /** Marks per kind in the time-sequence graph (R, O, Z, P, dup, sack, syn, fin, rst). */
  marks: Record<string, number>;
}

export interface ConnCharts {
  uid: string;
  tcpStream: number;
  /** "orig_h:orig_p → resp_h:resp_p". */
  title: string;
  /** Time 0 of the graphs: the connection's first packet (epoch seconds as exact text). */
  t0: string;
  duration: number;
  segments: number;
  /** Null when every segment is drawn; else how the data was decimated. */
  decimated: { rows: number; bucketWidth: number; buckets: number; marksOver: number } | null;
  dirs: DirCharts[];
}
