#!/usr/bin/env node
// Removes dist/ before a build: tsc does not delete the output of a source
// file that was removed or renamed, and a stale compiled test would keep
// running (and passing) locally while a fresh clone no longer has it.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
