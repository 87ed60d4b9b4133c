/**
 * The report page's script, made from the source of the functions that
 * draw the standalone SVG files and of the page's interaction code: the
 * browser runs the same drawing code as `--plot`. Every exported function
 * of draw-axes.ts, draw-chart.ts and client.ts is included (their
 * `toString()`), so each may call the others by name; none may use an
 * import or a module-level value at run time (a test evaluates the script
 * alone and compares its drawing with Node's).
 */
import * as axes from './draw-axes.js';
import * as chart from './draw-chart.js';
import * as client from './client.js';

/** The script's text: the functions, then the call that decodes the data element `dataExpr` and sets the page up. */
export function clientScript(dataExpr: string): string {
  return `'use strict';\n${functionSource([axes, chart, client])}\nreportStart(${dataExpr});\n`;
}

/** The functions' source only (for tests that evaluate it in a sandbox). */
export function drawingSource(): string {
  return functionSource([axes, chart]);
}

function functionSource(modules: object[]): string {
  const out: string[] = [];
  for (const m of modules) for (const v of Object.values(m) as unknown[]) if (typeof v === 'function') out.push(v.toString());
  return out.join('\n');
}
