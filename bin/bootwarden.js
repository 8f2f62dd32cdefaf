#!/usr/bin/env node
// Runs the compiled CLI (built by `npm ci` / `npm run build` into dist/).
import { main } from '../dist/cli/main.js';

await main();
