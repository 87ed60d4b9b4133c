/**
 * Enforces the layering of ARCHITECTURE.md: a folder may import only from
 * folders on lower layers (or its own). Scans every .ts file's imports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');

/** Layer number of each folder; higher may import lower. */
export const LAYERS: Record<string, number> = {
  'src/util': 0,
  'src/io': 1,
  'src/capture': 2,
  'src/tcpinfo': 2,
  'src/records': 2,
  'src/decode': 3,
  'src/protocols': 3,
  'src/filter': 3,
  'src/tcp': 4,
  'src/analysis': 5,
  'src/output': 6,
  'src/query': 6.5,
  'src/live': 7,
  'src/index.ts': 7.5,
  cli: 8,
};

function layerOf(relPath: string): string | undefined {
  const p = relPath.split(sep).join('/');
  if (p === 'src/index.ts') return 'src/index.ts';
  for (const k of Object.keys(LAYERS)) if (p === k || p.startsWith(k + '/')) return k;
  return undefined;
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function violations(root: string): string[] {
  const bad: string[] = [];
  const files = [...walk(join(root, 'src'), []), ...walk(join(root, 'cli'), [])];
  for (const file of files) {
    const fromRel = relative(root, file);
    const from = layerOf(fromRel);
    if (from === undefined) {
      bad.push(`${fromRel}: folder is not in the layer table`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = layerOf(target);
      if (to === undefined) {
        bad.push(`${fromRel} imports ${spec}: target is outside the layered folders`);
        continue;
      }
      if (to === from) continue;
      if (LAYERS[to]! >= LAYERS[from]!) bad.push(`${fromRel} (layer ${LAYERS[from]}) imports ${target} (layer ${LAYERS[to]})`);
    }
  }
  return bad;
}

test('no folder imports from a folder on its own or a higher layer', () => {
  assert.deepEqual(violations(ROOT), []);
});

test('only cli/ touches process.argv, process.exit, process.env, stdout and stderr', () => {
  const files = walk(join(ROOT, 'src'), []);
  const offenders: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    if (/process\.(argv|exit|env|stdout|stderr|stdin)\b/.test(text)) offenders.push(relative(ROOT, f));
  }
  assert.deepEqual(offenders, []);
});

test('the layering check reports a lower layer importing a higher one', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const root = mkdtempSync(join(tmpdir(), 'tcpkit-layers-'));
  try {
    mkdirSync(join(root, 'src/util'), { recursive: true });
    mkdirSync(join(root, 'src/io'), { recursive: true });
    mkdirSync(join(root, 'cli'), { recursive: true });
    writeFileSync(join(root, 'src/io/a.ts'), "export const a = 1;\n");
    writeFileSync(join(root, 'src/util/b.ts'), "import { a } from '../io/a.js';\nexport const b = a;\n");
    writeFileSync(join(root, 'cli/c.ts'), "import { b } from '../src/util/b.js';\nexport const c = b;\n");
    assert.deepEqual(violations(root), ['src/util/b.ts (layer 0) imports src/io/a.ts (layer 1)']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
