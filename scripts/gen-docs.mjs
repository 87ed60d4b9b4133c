#!/usr/bin/env node
// Regenerates the README's column reference from the record schemas
// (src/records/), between the <!-- columns:KIND --> markers.
import { readFileSync, writeFileSync } from 'node:fs';
import { SCHEMAS, markdownReference } from '../dist/src/records/index.js';

const path = new URL('../README.md', import.meta.url);
let text = readFileSync(path, 'utf8');
for (const [kind, schema] of SCHEMAS) {
  const start = `<!-- columns:${kind} -->`;
  const end = `<!-- /columns:${kind} -->`;
  const i = text.indexOf(start), j = text.indexOf(end);
  if (i < 0 || j < 0) continue;
  text = text.slice(0, i + start.length) + '\n' + markdownReference(schema) + '\n' + text.slice(j);
}
writeFileSync(path, text);
