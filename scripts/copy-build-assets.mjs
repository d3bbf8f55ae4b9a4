#!/usr/bin/env node
// tsc emits only JavaScript: the compiled app also needs the SQL migrations and the shipped pipeline specs.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(root, 'db', 'migrations'), join(root, 'dist', 'db', 'migrations'), { recursive: true });
mkdirSync(join(root, 'dist', 'pipelines'), { recursive: true });
for (const f of readdirSync(join(root, 'pipelines')).filter((f) => f.endsWith('.json'))) {
  cpSync(join(root, 'pipelines', f), join(root, 'dist', 'pipelines', f));
}
