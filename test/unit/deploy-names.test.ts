/**
 * Names that the code and the deploy files must agree on, defined once in code: the workflow's id
 * (core/contracts.ts) and the function's entry point (functions/entry.ts). YAML and shell cannot
 * import them, so this test reads what they say.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESPONSE_WORKFLOW_ID } from '../../core/contracts.js';
import { FUNCTION_TARGET } from '../../functions/entry.js';
import { ROOT } from '../support/cli.js';

const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

describe('deploy files use the names the code defines', () => {
  it('the workflow file is named after the workflow id', () => {
    expect.hasAssertions();
    expect(existsSync(path.join(ROOT, 'workflows', `${RESPONSE_WORKFLOW_ID}.workflows.yaml`))).toBe(true);
  });

  it('cloudbuild.yaml validates and deploys that file under that id', () => {
    expect.hasAssertions();
    const build = read('cloudbuild.yaml');
    expect(build).toContain(`'workflows/${RESPONSE_WORKFLOW_ID}.workflows.yaml'`);
    expect(build).toMatch(new RegExp(`- deploy\\n\\s+- ${RESPONSE_WORKFLOW_ID}\\n`));
    expect(build).toContain(`--source=workflows/${RESPONSE_WORKFLOW_ID}.workflows.yaml`);
  });

  it('docs/deploy.md deploys the workflow under that id and the function from its deploy folder with its entry point', () => {
    expect.hasAssertions();
    const deploy = read('docs/deploy.md');
    expect(deploy).toContain(`gcloud workflows deploy ${RESPONSE_WORKFLOW_ID} `);
    expect(deploy).toContain(`--source=workflows/${RESPONSE_WORKFLOW_ID}.workflows.yaml`);
    expect(deploy).toContain(`--entry-point=${FUNCTION_TARGET} `);
    expect(deploy).toContain('--source=.deploy/function ');
    expect(deploy).toContain(`BOOTWARDEN_WORKFLOW=${RESPONSE_WORKFLOW_ID}`);
  });
});
