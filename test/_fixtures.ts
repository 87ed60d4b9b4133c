/** Where the fixture captures are, for the tests that walk all of them. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const FIX = join(ROOT, 'fixtures/pcaps');
export const ORACLES = join(FIX, 'oracles');

/** Folders of fixtures/pcaps holding captures: the shared copies, recorded ones, crafted ones. */
const CAPTURE_DIRS = ['', 'recorded', 'crafted', 'encap'];

/** Every fixture capture, as a path relative to fixtures/pcaps, in a stable order. */
export function fixtureCaptures(): string[] {
  const out: string[] = [];
  for (const dir of CAPTURE_DIRS) {
    const d = join(FIX, dir);
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d).sort()) if (/\.(pcap|pcapng|cap)$/.test(n)) out.push(join(dir, n));
  }
  return out;
}

/** The fixture capture with this file name, wherever it lives, or null. */
export function findCapture(name: string): string | null {
  for (const dir of CAPTURE_DIRS) {
    const p = join(FIX, dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else out.push(p);
  }
  return out.sort();
}
