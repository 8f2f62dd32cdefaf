/**
 * Child process of the function benchmark: how long `import` of the function's entry point
 * (dist/functions/index.js) takes in a fresh node process. Prints the milliseconds on stdout.
 */
const start = performance.now();
await import('../functions/index.js');
const ms = performance.now() - start;
process.stdout.write(`${ms}\n`);
// functions-framework keeps nothing alive after registration, but do not depend on it.
process.exit(0);
