/**
 * The small subset of YAML that expectation files use (tcpcheck
 * --expect-file): block mappings (`key: value`, or `key:` with a nested
 * block), block sequences (`- item`, whose item may start a mapping),
 * scalars plain, 'single-quoted' ('' for a quote) or "double-quoted" (with
 * \" \\ \n \t escapes), flow sequences of scalars on one line
 * (`[resp_p, orig_h]`), and comments (`#` at the start of a line or after a
 * space, outside quotes). Indentation by spaces. Anything else (anchors,
 * tags, multi-line scalars, flow mappings, tabs) is refused with its line
 * number: the file is short, and a clear error beats a guess.
 */

export type YamlValue = string | YamlValue[] | { [k: string]: YamlValue };

export class YamlError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(s: string, no: number): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q !== null) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i);
  }
  if (q !== null) throw new YamlError(`unclosed ${q === '"' ? 'double' : 'single'} quote`, no);
  return s;
}

function lines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    if (/^\s*\t/.test(raw)) throw new YamlError('a tab in the indentation (use spaces)', no);
    const s = stripComment(raw, no).replace(/\s+$/, '');
    if (s.trim() === '' || s.trim() === '---') return;
    if (/^\s*(&|\*|!|\||>)/.test(s.trim().replace(/^- /, ''))) throw new YamlError('anchors, aliases, tags and block scalars are not supported', no);
    out.push({ indent: s.length - s.trimStart().length, text: s.trimStart(), no });
  });
  return out;
}

function scalar(s: string, no: number): YamlValue {
  const t = s.trim();
  if (t.startsWith('"')) {
    if (!t.endsWith('"') || t.length < 2) throw new YamlError('a double-quoted scalar must end on its line', no);
    return t.slice(1, -1).replace(/\\(["\\nt])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2) throw new YamlError('a single-quoted scalar must end on its line', no);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new YamlError('a flow sequence must end on its line', no);
    const inner = t.slice(1, -1).trim();
    if (inner === '') return [];
    // split at commas outside quotes
    const items: string[] = [];
    let q: string | null = null, from = 0;
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i]!;
      if (q !== null) {
        if (c === '\\' && q === '"') i++;
        else if (c === q) q = null;
      } else if (c === '"' || c === "'") q = c;
      else if (c === ',') {
        items.push(inner.slice(from, i));
        from = i + 1;
      }
    }
    items.push(inner.slice(from));
    return items.map((x) => scalar(x, no));
  }
  if (t.startsWith('{')) throw new YamlError('flow mappings ({...}) are not supported', no);
  if (/^[&*!|>]/.test(t)) throw new YamlError('anchors, aliases, tags and block scalars are not supported', no);
  return t;
}

/** `key: rest` at the start of a line (not inside quotes); null when the line is not a mapping entry. */
function keyOf(s: string): [string, string] | null {
  const m = /^([A-Za-z_][A-Za-z0-9_.-]*|"[^"]*"|'[^']*')\s*:(\s+|$)/.exec(s);
  if (!m) return null;
  const k = m[1]!.startsWith('"') || m[1]!.startsWith("'") ? m[1]!.slice(1, -1) : m[1]!;
  return [k, s.slice(m[0].length)];
}

class Reader {
  i = 0;
  constructor(private readonly ls: Line[]) {}

  /** The block whose lines are indented exactly `indent`. */
  block(indent: number): YamlValue {
    const first = this.ls[this.i]!;
    if (first.text.startsWith('- ') || first.text === '-') return this.seq(indent);
    return this.map(indent);
  }

  private seq(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (this.i < this.ls.length) {
      const l = this.ls[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new YamlError('unexpected indentation', l.no);
      if (!(l.text.startsWith('- ') || l.text === '-')) throw new YamlError('expected "- " (a sequence item) at this indentation', l.no);
      const rest = l.text === '-' ? '' : l.text.slice(2);
      const itemIndent = indent + 2 + (rest.length - rest.trimStart().length);
      if (rest.trim() === '') {
        this.i++;
        if (this.i >= this.ls.length || this.ls[this.i]!.indent <= indent) throw new YamlError('an empty sequence item', l.no);
        out.push(this.block(this.ls[this.i]!.indent));
      } else if (keyOf(rest.trim()) !== null) {
        // "- key: value" starts a mapping whose other keys line up with this one
        this.ls[this.i] = { indent: itemIndent, text: rest.trim(), no: l.no };
        out.push(this.map(itemIndent));
      } else {
        out.push(scalar(rest, l.no));
        this.i++;
      }
    }
    return out;
  }

  private map(indent: number): { [k: string]: YamlValue } {
    const out: { [k: string]: YamlValue } = {};
    while (this.i < this.ls.length) {
      const l = this.ls[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new YamlError('unexpected indentation', l.no);
      const kv = keyOf(l.text);
      if (kv === null) throw new YamlError(`expected "key: value" (quote a value that holds ": ")`, l.no);
      const [k, rest] = kv;
      if (k in out) throw new YamlError(`"${k}" appears twice`, l.no);
      this.i++;
      if (rest.trim() !== '') out[k] = scalar(rest, l.no);
      else if (this.i < this.ls.length && this.ls[this.i]!.indent > indent) out[k] = this.block(this.ls[this.i]!.indent);
      else if (this.i < this.ls.length && this.ls[this.i]!.indent === indent && this.ls[this.i]!.text.startsWith('- ')) out[k] = this.block(indent);
      else out[k] = '';
    }
    return out;
  }
}

/** Parses the subset; throws YamlError with the 1-based line. */
export function parseYamlLite(text: string): YamlValue {
  const ls = lines(text);
  if (ls.length === 0) return {};
  const r = new Reader(ls);
  const v = r.block(ls[0]!.indent);
  if (r.i < ls.length) throw new YamlError('unexpected indentation', ls[r.i]!.no);
  return v;
}
