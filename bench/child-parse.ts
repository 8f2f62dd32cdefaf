/**
 * Child process of the replay benchmark: the plain baseline, `JSON.parse(readFileSync(file))`.
 * Prints one JSON line {seconds, readSeconds, parseSeconds, maxRssKb, entries} on stdout.
 * Usage: node dist/bench/child-parse.js <export.json>
 */
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: child-parse.js <export.json>');
const start = performance.now();
const text = readFileSync(file, 'utf8');
const read = performance.now();
const value: unknown = JSON.parse(text);
const end = performance.now();
process.stdout.write(
  `${JSON.stringify({
    seconds: (end - start) / 1000,
    readSeconds: (read - start) / 1000,
    parseSeconds: (end - read) / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
    entries: Array.isArray(value) ? value.length : null,
  })}\n`,
);
