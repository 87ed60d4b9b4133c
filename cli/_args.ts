/**
 * Option values shared by the commands: sizes (65536, 512k, 64m), durations
 * (300, 90s, 5m, 250ms) and the progress line drawn on a terminal's stderr.
 */
import type { Progress } from '../src/analysis/pipeline.js';
import { UsageError } from '../src/util/errors.js';
import { parseDurationNs } from '../src/util/time.js';

/** A one-line progress display on stderr, redrawn at most twice a second. */
export function progressLine(name: string, unit = 'packets'): { update: (p: Progress) => void; clear: () => void } {
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 500) return;
      last = now;
      const secs = Math.max((now - start) / 1000, 0.001);
      const flows = p.openFlows >= 0 ? `, ${p.openFlows} flows open` : '';
      process.stderr.write(`\r${name}: ${(p.bytes / 1e6).toFixed(0)} MB read, ${p.packets} ${unit} (${Math.round(p.packets / secs)}/s)${flows}  `);
      shown = true;
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export function byteSize(text: string, flag: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(text.trim());
  if (!m) throw new UsageError('USAGE_BAD_SIZE', `${flag}: "${text}" is not a size (examples: 65536, 512k, 64m, 1g)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

export function durationMs(text: string, flag: string): number {
  const ns = parseDurationNs(text);
  if (!Number.isFinite(ns) || ns < 0) throw new UsageError('USAGE_BAD_DURATION', `${flag}: "${text}" is not a duration (examples: 300, 90s, 5m, 1h, 250ms)`);
  return ns / 1e6;
}

