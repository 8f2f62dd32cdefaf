#!/usr/bin/env node
// Builds the function's deploy folder, .deploy/function/: the compiled modules that
// dist/functions/index.js loads (followed import by import, so nothing else is shipped: no CLI,
// no devstack, no emulator, no benchmarks), with deploy/function/package.json and its own
// package-lock.json. Google's buildpack runs `npm ci` in the folder it is given; this folder is
// self-contained, so that works without the repository's workspaces.
//   npm run build:function  &&  gcloud functions deploy ... --source=.deploy/function
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const entry = 'functions/index.js';
const out = path.resolve(root, process.argv[2] ?? path.join('.deploy', 'function'));

const IMPORT =
  /(?:^|[\n;])\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.[^'"]+)['"]|(?:^|[\n;])\s*import\s*['"](\.[^'"]+)['"]|\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** The compiled files `start` loads, itself included, as paths relative to dist/. */
function closure(start) {
  const seen = new Set();
  const todo = [start];
  while (todo.length > 0) {
    const file = todo.pop();
    if (seen.has(file)) continue;
    const full = path.join(dist, file);
    if (!existsSync(full)) throw new Error(`${file} is not in dist/: run \`npm run build\` first`);
    seen.add(file);
    for (const m of readFileSync(full, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      todo.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
    }
  }
  return [...seen].sort();
}

function main() {
  const files = closure(entry);
  rmSync(out, { recursive: true, force: true });
  for (const file of files) {
    mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
    copyFileSync(path.join(dist, file), path.join(out, file));
  }
  for (const manifest of ['package.json', 'package-lock.json']) {
    copyFileSync(path.join(root, 'deploy', 'function', manifest), path.join(out, manifest));
  }
  process.stdout.write(`${path.relative(root, out)}: ${files.length} modules from ${entry}, package.json, package-lock.json\n`);
}

main();
