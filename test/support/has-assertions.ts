/**
 * Every test must assert something: a test that returns before its first `expect` fails instead
 * of passing vacuously. Loaded by every vitest configuration (`setupFiles`).
 */
import { beforeEach, expect } from 'vitest';

beforeEach(() => {
  expect.hasAssertions();
});
