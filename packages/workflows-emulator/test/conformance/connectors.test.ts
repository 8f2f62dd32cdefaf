/**
 * Conformance of the local Workflows engine: the connectors, called from workflows. Compute runs
 * against the recording fleet (what it recorded is asserted), Firestore against the emulator
 * through the official client. Each test names the page it pins.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordingComputeFleet, type RecordedCall } from '../../src/testing/recording-fleet.js';
import { TEST_PROJECT_ID, useFirestore } from '../support/firestore.js';
import { InstantClock, runText, useEngine } from '../support/runs.js';

const GOOGLEAPIS = 'https://cloud.google.com/workflows/docs/reference/googleapis';
const COMPUTE = `${GOOGLEAPIS}/compute/v1/instances`;
const FIRESTORE = `${GOOGLEAPIS}/firestore/v1/projects.databases.documents`;
const CONNECTORS = 'https://cloud.google.com/workflows/docs/connectors';
const ERROR_TYPES = 'https://cloud.google.com/workflows/docs/reference/syntax/error-types';
const PRICING = 'https://cloud.google.com/workflows/pricing';

const P = 'proj-1';
const Z = 'europe-west1-b';

/**
 * A workflow taking `{project, zone, instance, requestId}` as its argument that calls the Compute
 * connector `method` with those (and the extra YAML `args` lines), then returns `returns`.
 */
function compute(method: string, args: readonly string[], returns = '${r}'): string {
  return [
    'main:',
    '  params: [args]',
    '  steps:',
    '    - c:',
    `        call: googleapis.compute.v1.instances.${method}`,
    '        args:',
    '          project: ${args.project}',
    '          zone: ${args.zone}',
    ...args.map((a) => `          ${a}`),
    '        result: r',
    '    - done:',
    `        return: ${returns}`,
    '',
  ].join('\n');
}

const instanceArgs = ['instance: ${args.instance}'];
const mutationArgs = ['instance: ${args.instance}', 'requestId: ${args.requestId}'];

describe('googleapis.compute.v1.instances.* through workflows (recording fleet)', () => {
  const clock = new InstantClock(Date.parse('2026-11-29T10:00:00Z'));
  const fleet = new RecordingComputeFleet({ now: () => clock.now(), pollsUntilDone: 2 });
  const engine = useEngine({ clock, instances: fleet });

  /** Adds a VM of this test's own and runs `yaml` on it; gives the outcome and what the fleet saw. */
  async function run(yaml: string, vm: { name: string; status?: 'RUNNING' | 'TERMINATED'; zone?: string }) {
    const zone = vm.zone ?? Z;
    const added = fleet.addInstance({ project: P, zone, name: vm.name, status: vm.status ?? 'RUNNING', labels: { env: 'prod' } });
    const requestId = randomUUID();
    const calls = fleet.calls.length;
    const sleeps = clock.sleeps.length;
    const out = await runText(await engine(), yaml, { argument: { project: P, zone, instance: vm.name, requestId } });
    return { out, id: added.id, requestId, calls: fleet.calls.slice(calls), sleeps: clock.sleeps.slice(sleeps) };
  }
  const what = (calls: readonly RecordedCall[]) => calls.map((c) => [c.method, c.target, c.requestId, c.outcome]);

  it(`get returns the instance; its 19-digit id stays a string (${COMPUTE}/get)`, async () => {
    const { out, id, calls } = await run(compute('get', instanceArgs), { name: 'vm-get' });
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ kind: 'compute#instance', name: 'vm-get', id, status: 'RUNNING', labels: { env: 'prod' } });
    expect(BigInt(id) > 2n ** 53n).toBe(true);
    expect(what(calls)).toEqual([['get', 'vm-get', undefined, 'ok']]);
    expect(out.record.billing).toEqual({ internal: 2, external: 0, polls: 0 });
  });

  it(`get of an unknown instance raises HttpError 404 (${COMPUTE}/get, ${ERROR_TYPES})`, async () => {
    const { out, calls } = await run(compute('get', ['instance: nope']), { name: 'vm-get-404' });
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({ tags: ['HttpError'], code: 404, body: { error: { code: 404 } } });
    expect(calls).toHaveLength(1);
  });

  it(`list passes filter and maxResults and returns the InstanceList (${COMPUTE}/list)`, async () => {
    fleet.addInstance({ project: P, zone: 'list-zone', name: 'vm-list-stopped', status: 'TERMINATED' });
    const { out, calls } = await run(compute('list', ['filter: status = RUNNING', 'maxResults: 10'], '${r.items}'), {
      name: 'vm-list',
      zone: 'list-zone',
    });
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect((out.result as { name: string }[]).map((i) => i.name)).toEqual(['vm-list']);
    expect(calls.map((c) => [c.method, c.zone, c.options])).toEqual([
      ['list', 'list-zone', { filter: 'status = RUNNING', maxResults: 10 }],
    ]);
  });

  it(`stop sends the requestId and waits for the operation, billing each poll (${COMPUTE}/stop, ${CONNECTORS}#long-running_operations, ${PRICING})`, async () => {
    const { out, requestId, calls, sleeps } = await run(compute('stop', mutationArgs), { name: 'vm-stop' });
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ kind: 'compute#operation', operationType: 'stop', status: 'DONE', clientOperationId: requestId });
    const operation = (out.result as { name: string }).name;
    expect(what(calls)).toEqual([
      ['stop', 'vm-stop', requestId, 'ok'],
      ['getOperation', operation, undefined, 'ok'],
      ['getOperation', operation, undefined, 'ok'],
    ]);
    // The default polling policy: 1 s, then x1.25.
    expect(sleeps).toEqual([1000, 1250]);
    expect(fleet.peek(P, Z, 'vm-stop')?.status).toBe('TERMINATED');
    // The call step, the return step, and one step per poll.
    expect(out.record.billing).toEqual({ internal: 4, external: 0, polls: 2 });
  });

  it(`start starts a TERMINATED instance (${COMPUTE}/start)`, async () => {
    const { out, requestId, calls } = await run(compute('start', mutationArgs, '${r.operationType}'), {
      name: 'vm-start',
      status: 'TERMINATED',
    });
    expect(out.result).toBe('start');
    expect(calls[0]).toMatchObject({ method: 'start', target: 'vm-start', requestId, outcome: 'ok' });
    expect(fleet.peek(P, Z, 'vm-start')?.status).toBe('RUNNING');
  });

  it(`setShieldedInstanceIntegrityPolicy sends the body: a relearn (${COMPUTE}/setShieldedInstanceIntegrityPolicy)`, async () => {
    const yaml = compute('setShieldedInstanceIntegrityPolicy', [...mutationArgs, 'body:', '  updateAutoLearnPolicy: true'], '${r.status}');
    const { out, requestId, calls } = await run(yaml, { name: 'vm-relearn' });
    expect(out.result).toBe('DONE');
    expect(calls[0]).toMatchObject({
      method: 'setShieldedInstanceIntegrityPolicy',
      target: 'vm-relearn',
      requestId,
      body: { updateAutoLearnPolicy: true },
      outcome: 'ok',
    });
    expect(fleet.relearnCount(P, Z, 'vm-relearn')).toBe(1);
  });

  it(`a 503 is retried (non-idempotent policy) with the same requestId, then the VM stops once (${CONNECTORS}, https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_non_idempotent)`, async () => {
    fleet.failNext('stop', 503, 2);
    const { out, requestId, calls, sleeps } = await run(compute('stop', mutationArgs, '${r.status}'), { name: 'vm-flaky' });
    expect(out.result).toBe('DONE');
    expect(what(calls.filter((c) => c.method === 'stop'))).toEqual([
      ['stop', 'vm-flaky', requestId, { status: 503 }],
      ['stop', 'vm-flaky', requestId, { status: 503 }],
      ['stop', 'vm-flaky', requestId, 'ok'],
    ]);
    // retry.default_backoff for the two retries, then the polling policy for the two polls.
    expect(sleeps).toEqual([1000, 1250, 1000, 1250]);
    expect(fleet.peek(P, Z, 'vm-flaky')?.status).toBe('TERMINATED');
  });

  it(`a permanent 403 is raised at once as HttpError and caught by except (${CONNECTORS}, ${ERROR_TYPES})`, async () => {
    fleet.failAlways('stop', 403);
    const yaml = [
      'main:',
      '  params: [args]',
      '  steps:',
      '    - t:',
      '        try:',
      '          call: googleapis.compute.v1.instances.stop',
      '          args:',
      '            project: ${args.project}',
      '            zone: ${args.zone}',
      '            instance: ${args.instance}',
      '        except:',
      '          as: e',
      '          steps:',
      '            - known:',
      '                switch:',
      '                  - condition: ${e.code == 403}',
      '                    return: ["${e.code}", "${e.tags}"]',
      '            - reraise:',
      '                raise: ${e}',
      '',
    ].join('\n');
    try {
      const { out, calls, sleeps } = await run(yaml, { name: 'vm-forbidden' });
      expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
      expect(out.result).toEqual([403, ['HttpError']]);
      expect(what(calls)).toEqual([['stop', 'vm-forbidden', undefined, { status: 403 }]]);
      expect(sleeps).toEqual([]);
      expect(fleet.peek(P, Z, 'vm-forbidden')?.status).toBe('RUNNING');
    } finally {
      fleet.clearFailures();
    }
  });

  it(`a relearn of a TERMINATED instance raises HttpError 400 and changes nothing (${COMPUTE}/setShieldedInstanceIntegrityPolicy, ${ERROR_TYPES})`, async () => {
    const yaml = compute('setShieldedInstanceIntegrityPolicy', [...mutationArgs, 'body:', '  updateAutoLearnPolicy: true']);
    const { out, calls } = await run(yaml, { name: 'vm-off', status: 'TERMINATED' });
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({
      tags: ['HttpError'],
      code: 400,
      body: { error: { code: 400, errors: [{ reason: 'invalidResourceUsage' }] } },
    });
    expect(calls.map((c) => c.method)).toEqual(['setShieldedInstanceIntegrityPolicy']);
    expect(fleet.relearnCount(P, Z, 'vm-off')).toBe(0);
  });

  it(`skip_polling returns the first answer, with no poll billed (${GOOGLEAPIS})`, async () => {
    const yaml = compute('stop', [...mutationArgs, 'connector_params:', '  skip_polling: true'], '${r.status}');
    const { out, calls, sleeps } = await run(yaml, { name: 'vm-skip' });
    expect(out.result).toBe('PENDING');
    expect(calls.map((c) => c.method)).toEqual(['stop']);
    expect(sleeps).toEqual([]);
    expect(out.record.billing).toEqual({ internal: 2, external: 0, polls: 0 });
  });

  it(`an operation that ends with an error raises OperationError (${CONNECTORS}#long-running_operations, ${ERROR_TYPES})`, async () => {
    fleet.failNextOperation('stop', { code: 'RESOURCE_OPERATION_RATE_EXCEEDED', message: 'Operation rate exceeded' });
    const { out } = await run(compute('stop', mutationArgs), { name: 'vm-op-error' });
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({
      tags: ['OperationError'],
      operation: { status: 'DONE', error: { errors: [{ code: 'RESOURCE_OPERATION_RATE_EXCEEDED' }] } },
    });
    expect(fleet.peek(P, Z, 'vm-op-error')?.status).toBe('RUNNING');
  });
});

describe('connectors without their backend', () => {
  const engine = useEngine();
  it.each([
    ['googleapis.compute.v1.instances.stop', ['project: p', 'zone: z', 'instance: i']],
    ['googleapis.firestore.v1.projects.databases.documents.get', ['name: projects/p/databases/(default)/documents/c/d']],
  ] as const)(
    `%s fails the execution with ConnectionError naming it (${COMPUTE}/get: "ConnectionError ... refused connection")`,
    async (connector, args) => {
      const yaml = `- c:\n    call: ${connector}\n    args:\n${args.map((a) => `      ${a}\n`).join('')}`;
      const out = await runText(await engine(), yaml);
      expect(out.state).toBe('FAILED');
      expect(out.error?.tags).toEqual(['ConnectionError']);
      expect(String(out.error?.message)).toContain(connector);
    },
  );
});

describe('googleapis.firestore.v1.projects.databases.documents.* through workflows (emulator)', () => {
  const fs = useFirestore();
  const engine = useEngine({ firestore: fs.db });
  const root = `projects/${TEST_PROJECT_ID}/databases/(default)/documents`;
  const collection = `${fs.prefix}things`;
  const docName = (id: string): string => `${root}/${collection}/${id}`;
  const run = async (yaml: string) => runText(await engine(), yaml, { argument: { root, collection } });

  /** A step creating `${args.collection}/id` with `fields` (YAML lines under `fields:`). */
  const create = (step: string, id: string, fields: readonly string[], result = 'created'): string[] => [
    `    - ${step}:`,
    '        call: googleapis.firestore.v1.projects.databases.documents.createDocument',
    '        args:',
    '          parent: ${args.root}',
    '          collectionId: ${args.collection}',
    `          documentId: ${id}`,
    '          body:',
    '            fields:',
    ...fields.map((f) => `              ${f}`),
    `        result: ${result}`,
  ];
  const main = (...steps: string[][]): string => ['main:', '  params: [args]', '  steps:', ...steps.flat(), ''].join('\n');

  it(`createDocument returns the REST Document, and get reads it back (${FIRESTORE}/createDocument, ${FIRESTORE}/get, ${PRICING})`, async () => {
    const yaml = main(create('make', 'doc-1', ['status: {stringValue: waiting}', 'count: {integerValue: "1"}']), [
      '    - read:',
      '        call: googleapis.firestore.v1.projects.databases.documents.get',
      '        args:',
      '          name: ${created.name}',
      '        result: got',
      '    - done:',
      '        return: ["${created.name}", "${got.fields}", "${got.createTime == created.createTime}"]',
    ]);
    const out = await run(yaml);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toEqual([docName('doc-1'), { status: { stringValue: 'waiting' }, count: { integerValue: '1' } }, true]);
    expect((await fs.db().doc(`${collection}/doc-1`).get()).data()).toEqual({ status: 'waiting', count: 1 });
    expect(out.record.billing).toEqual({ internal: 3, external: 0, polls: 0 });
  });

  it(`createDocument of an existing id raises HttpError 409, caught with e.code == 409 (${FIRESTORE}/createDocument, ${ERROR_TYPES})`, async () => {
    const yaml = main(create('first', 'dup', ['v: {integerValue: "1"}']), [
      '    - again:',
      '        try:',
      '          steps:',
      ...create('second', 'dup', ['v: {integerValue: "2"}'], 'ignored').map((l) => `      ${l}`),
      '        except:',
      '          as: e',
      '          steps:',
      '            - known:',
      '                switch:',
      '                  - condition: ${e.code == 409}',
      '                    return: ["${e.tags}", "${e.body.error.status}"]',
      '            - reraise:',
      '                raise: ${e}',
    ]);
    const out = await run(yaml);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toEqual([['HttpError'], 'ALREADY_EXISTS']);
    expect((await fs.db().doc(`${collection}/dup`).get()).get('v')).toBe(1);
  });

  it(`get of a missing document raises HttpError 404 (${FIRESTORE}/get, ${ERROR_TYPES})`, async () => {
    const yaml = main([
      '    - read:',
      '        call: googleapis.firestore.v1.projects.databases.documents.get',
      '        args:',
      '          name: ${args.root + "/" + args.collection + "/missing"}',
    ]);
    const out = await run(yaml);
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({
      tags: ['HttpError'],
      code: 404,
      message: 'HTTP server responded with error code 404',
      body: { error: { code: 404, status: 'NOT_FOUND' } },
    });
  });

  it(`patch with updateMask.fieldPaths changes the listed fields only (${FIRESTORE}/patch)`, async () => {
    await fs.db().doc(`${collection}/p1`).set({ status: 'waiting', other: 'kept' });
    const yaml = main([
      '    - decide:',
      '        call: googleapis.firestore.v1.projects.databases.documents.patch',
      '        args:',
      '          name: ${args.root + "/" + args.collection + "/p1"}',
      '          updateMask:',
      '            fieldPaths: [status]',
      '          body:',
      '            fields:',
      '              status: {stringValue: approved}',
      '              ignored: {stringValue: not in the mask}',
      '        result: patched',
      '    - done:',
      '        return: ${patched.fields}',
    ]);
    const out = await run(yaml);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toEqual({ status: { stringValue: 'approved' }, other: { stringValue: 'kept' } });
    expect((await fs.db().doc(`${collection}/p1`).get()).data()).toEqual({ status: 'approved', other: 'kept' });
  });

  it(`patch's mask in both spellings the reference page shows, its table's updateMask.fieldPaths and its snippet's nesting, changes the listed fields only (${FIRESTORE}/patch)`, async () => {
    // Without the mask Firestore replaces the whole document: each spelling must keep the others.
    for (const [id, mask] of [
      ['dotted', ['          updateMask.fieldPaths: [status]']],
      ['nested', ['          updateMask:', '            fieldPaths: [status]']],
    ] as const) {
      await fs.db().doc(`${collection}/${id}`).set({ status: 'waiting', ledger: 'kept' });
      const out = await run(
        main([
          '    - mark:',
          '        call: googleapis.firestore.v1.projects.databases.documents.patch',
          '        args:',
          `          name: \${args.root + "/" + args.collection + "/${id}"}`,
          ...mask,
          '          body:',
          '            fields:',
          '              status: {stringValue: approved}',
        ]),
      );
      expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
      expect((await fs.db().doc(`${collection}/${id}`).get()).data(), id).toEqual({ status: 'approved', ledger: 'kept' });
    }
  });

  it(`patch with the mask given both ways at once is refused, nothing written (${FIRESTORE}/patch)`, async () => {
    await fs.db().doc(`${collection}/twice`).set({ status: 'waiting', ledger: 'kept' });
    const out = await run(
      main([
        '    - mark:',
        '        call: googleapis.firestore.v1.projects.databases.documents.patch',
        '        args:',
        '          name: ${args.root + "/" + args.collection + "/twice"}',
        '          updateMask.fieldPaths: [status]',
        '          updateMask:',
        '            fieldPaths: [ledger]',
        '          body:',
        '            fields: {}',
      ]),
    );
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({
      tags: ['ValueError'],
      message: expect.stringContaining("give 'updateMask.fieldPaths' once") as unknown,
    });
    expect((await fs.db().doc(`${collection}/twice`).get()).data()).toEqual({ status: 'waiting', ledger: 'kept' });
  });

  it(`delete returns {} and the document is gone (${FIRESTORE}/delete)`, async () => {
    await fs.db().doc(`${collection}/gone`).set({ x: 1 });
    const yaml = main([
      '    - remove:',
      '        call: googleapis.firestore.v1.projects.databases.documents.delete',
      '        args:',
      '          name: ${args.root + "/" + args.collection + "/gone"}',
      '        result: r',
      '    - done:',
      '        return: ${r}',
    ]);
    const out = await run(yaml);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toEqual({});
    expect((await fs.db().doc(`${collection}/gone`).get()).exists).toBe(false);
  });
});
