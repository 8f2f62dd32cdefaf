/**
 * The Firestore connector methods of the local engine through the official client against the
 * emulator: REST Document shapes in and out, the documented errors. Each test names its doc.
 */
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { connectorTable } from '../../src/connectors/index.js';
import type { CallContext, ConnectorMethod } from '../../src/run/runtime.js';
import { fromPlain, toPlain, type Value, type WfMap } from '../../src/run/values.js';
import { firestoreEmulatorKind, TEST_PROJECT_ID, useFirestore } from '../support/firestore.js';
import { InstantClock } from '../support/runs.js';
import { fakeContext as sharedContext, raised } from '../support/context.js';

const fs = useFirestore();
const ROOT = `projects/${TEST_PROJECT_ID}/databases/(default)/documents`;
const COLLECTION = `${fs.prefix}things`;
const docName = (id: string): string => `${ROOT}/${COLLECTION}/${id}`;

const REF = {
  overview: 'https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/Overview',
  get: 'https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/projects.databases.documents/get',
  create: 'https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/projects.databases.documents/createDocument',
  patch: 'https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/projects.databases.documents/patch',
  delete: 'https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/projects.databases.documents/delete',
  value: 'https://cloud.google.com/firestore/docs/reference/rest/v1/Value',
  precondition: 'https://cloud.google.com/firestore/docs/reference/rest/v1/Precondition',
  errors: 'https://cloud.google.com/workflows/docs/reference/syntax/error-types',
};

function fakeContext(): CallContext {
  return sharedContext({ clock: new InstantClock(Date.parse('2026-11-29T10:00:00Z')) }).ctx;
}

function connectors(db: () => Firestore) {
  const table = connectorTable({ firestore: db });
  return (method: string, args: Record<string, unknown>): Promise<Value> => {
    const m: ConnectorMethod | undefined = table.get(`googleapis.firestore.v1.projects.databases.documents.${method}`);
    if (m === undefined) throw new Error(`no connector ${method}`);
    return m.call(fromPlain(args) as WfMap, fakeContext());
  };
}

const call = connectors(fs.db);

/** The error map a call raised, as plain data. */
async function failure(p: Promise<unknown>): Promise<any> {
  return toPlain(await raised(p));
}

/**
 * The npm emulator (0.3.15) merges on every set (a write without a mask replaces nothing) and
 * cannot delete a field, nor hold an integer beyond 2^53: tests of those run on gcloud's only.
 */
const npm = firestoreEmulatorKind() === 'npm';
const NPM_SKIP =
  'needs the gcloud Firestore emulator: the npm emulator merges on every set, cannot delete a field, nor hold an int64 beyond 2^53';

const plain = async (p: Promise<Value>): Promise<any> => toPlain(await p);

/** Every Value kind the REST API has, as a workflow writes it. */
const FIELDS = {
  s: { stringValue: 'hello' },
  i: { integerValue: '42' },
  d: { doubleValue: 2.5 },
  b: { booleanValue: true },
  n: { nullValue: null },
  t: { timestampValue: '2026-11-29T10:00:00.123Z' },
  m: {
    mapValue: { fields: { PCR_0: { mapValue: { fields: { hashAlgo: { stringValue: 'SHA256' }, pcrNum: { stringValue: 'PCR_0' } } } } } },
  },
  a: { arrayValue: { values: [{ stringValue: 'x' }, { integerValue: '-7' }] } },
  e: { arrayValue: {} },
};

describe('googleapis.firestore.v1.projects.databases.documents', () => {
  it(`createDocument returns the REST Document, and get reads it back (${REF.create}, ${REF.value})`, async () => {
    const created = await plain(
      call('createDocument', { parent: ROOT, collectionId: COLLECTION, documentId: 'doc-1', body: { fields: FIELDS } }),
    );
    expect(created.name).toBe(docName('doc-1'));
    expect(created.fields).toEqual(FIELDS);
    expect(created.createTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    expect(created.updateTime).toBe(created.createTime);

    const got = await plain(call('get', { name: docName('doc-1') }));
    expect(got).toEqual(created);
    expect((await fs.db().doc(`${COLLECTION}/doc-1`).get()).get('m.PCR_0.hashAlgo')).toBe('SHA256');
  });

  it("createDocument takes the id as query: {documentId}, as Google's connector sample writes it (workflows-samples, connector_firestore)", async () => {
    expect.hasAssertions();
    const created = await plain(
      call('createDocument', { parent: ROOT, collectionId: COLLECTION, query: { documentId: 'from-query' }, body: { fields: FIELDS } }),
    );
    expect(created.name).toBe(docName('from-query'));
    const other = await failure(
      call('createDocument', { parent: ROOT, collectionId: COLLECTION, query: { mask: 'x' }, body: { fields: FIELDS } }),
    );
    expect(other.tags).toEqual(['UndocumentedError']);
    const twice = await failure(
      call('createDocument', {
        parent: ROOT,
        collectionId: COLLECTION,
        documentId: 'a',
        query: { documentId: 'b' },
        body: { fields: FIELDS },
      }),
    );
    expect(twice.message).toMatch(/documentId given twice/);
  });

  it(`createDocument with an existing documentId raises HttpError 409 ALREADY_EXISTS (${REF.create}, ${REF.errors})`, async () => {
    await call('createDocument', {
      parent: ROOT,
      collectionId: COLLECTION,
      documentId: 'dup',
      body: { fields: { v: { integerValue: '1' } } },
    });
    const e = await failure(
      call('createDocument', { parent: ROOT, collectionId: COLLECTION, documentId: 'dup', body: { fields: { v: { integerValue: '2' } } } }),
    );
    expect(e).toMatchObject({
      tags: ['HttpError'],
      code: 409,
      message: 'HTTP server responded with error code 409',
      body: { error: { code: 409, status: 'ALREADY_EXISTS' } },
    });
    expect((await fs.db().doc(`${COLLECTION}/dup`).get()).get('v')).toBe(1);
  });

  it(`createDocument without documentId lets the service assign one (${REF.create})`, async () => {
    const created = await plain(
      call('createDocument', { parent: ROOT, collectionId: COLLECTION, body: { fields: { k: { stringValue: 'v' } } } }),
    );
    expect(created.name).toMatch(new RegExp(`^${ROOT.replace(/[()]/g, '\\$&')}/${COLLECTION}/[A-Za-z0-9]{20}$`));
  });

  it(`createDocument under a parent document, with a mask on the answer (${REF.create})`, async () => {
    const parent = docName('parent');
    const created = await plain(
      call('createDocument', {
        parent,
        collectionId: 'children',
        documentId: 'c1',
        'mask.fieldPaths': ['keep'],
        body: { fields: { keep: { stringValue: 'k' }, drop: { stringValue: 'd' } } },
      }),
    );
    expect(created).toMatchObject({ name: `${parent}/children/c1`, fields: { keep: { stringValue: 'k' } } });
    expect(created.fields.drop).toBeUndefined();
    expect((await fs.db().doc(`${COLLECTION}/parent/children/c1`).get()).get('drop')).toBe('d');
  });

  it(`get of a missing document raises HttpError 404 NOT_FOUND; mask.fieldPaths projects fields (${REF.get})`, async () => {
    const e = await failure(call('get', { name: docName('missing') }));
    expect(e).toMatchObject({ tags: ['HttpError'], code: 404, body: { error: { code: 404, status: 'NOT_FOUND' } } });
    expect(e.body.error.message).toContain(docName('missing'));

    await fs
      .db()
      .doc(`${COLLECTION}/masked`)
      .set({ a: 1, b: { c: 'x', d: 'y' }, e: true });
    const got = await plain(call('get', { name: docName('masked'), mask: { fieldPaths: ['a', 'b.c'] } }));
    expect(got.fields).toEqual({ a: { integerValue: '1' }, b: { mapValue: { fields: { c: { stringValue: 'x' } } } } });
  });

  it(`patch with updateMask.fieldPaths changes the listed fields only and deletes listed fields absent from the body (${REF.patch})`, async (ctx) => {
    ctx.skip(npm, NPM_SKIP);
    await fs.db().doc(`${COLLECTION}/p1`).set({ status: 'waiting', count: 1, gone: 'x', other: 'kept' });
    const patched = await plain(
      call('patch', {
        name: docName('p1'),
        updateMask: { fieldPaths: ['status', 'count', 'gone'] },
        body: { fields: { status: { stringValue: 'approved' }, count: { integerValue: '2' }, ignored: { stringValue: 'not in mask' } } },
      }),
    );
    expect(patched.fields).toEqual({ status: { stringValue: 'approved' }, count: { integerValue: '2' }, other: { stringValue: 'kept' } });
    expect((await fs.db().doc(`${COLLECTION}/p1`).get()).data()).toEqual({ status: 'approved', count: 2, other: 'kept' });
  });

  it(`patch without updateMask replaces the document, creating it if needed (${REF.patch})`, async (ctx) => {
    ctx.skip(npm, NPM_SKIP);
    await fs.db().doc(`${COLLECTION}/p2`).set({ old: 'x' });
    const replaced = await plain(call('patch', { name: docName('p2'), body: { fields: { fresh: { booleanValue: false } } } }));
    expect(replaced.fields).toEqual({ fresh: { booleanValue: false } });
    const upserted = await plain(
      call('patch', { name: docName('p3'), body: { name: docName('p3'), fields: { v: { doubleValue: 0.5 } } } }),
    );
    expect(upserted.fields).toEqual({ v: { doubleValue: 0.5 } });
  });

  it(`patch with currentDocument.exists: false creates once (409 on the second), exists: true needs the document (404) (${REF.patch}, ${REF.precondition})`, async () => {
    const body = { fields: { claim: { stringValue: 'first' } } };
    await call('patch', { name: docName('once'), 'currentDocument.exists': false, body });
    const again = await failure(
      call('patch', { name: docName('once'), currentDocument: { exists: false }, body: { fields: { claim: { stringValue: 'second' } } } }),
    );
    expect(again).toMatchObject({ tags: ['HttpError'], code: 409, body: { error: { status: 'ALREADY_EXISTS' } } });
    expect((await fs.db().doc(`${COLLECTION}/once`).get()).get('claim')).toBe('first');

    for (const updateMask of [undefined, { fieldPaths: ['claim'] }]) {
      const missing = await failure(
        call('patch', { name: docName('nothing-here'), currentDocument: { exists: true }, ...(updateMask ? { updateMask } : {}), body }),
      );
      expect(missing).toMatchObject({ tags: ['HttpError'], code: 404, body: { error: { status: 'NOT_FOUND' } } });
    }
    expect((await fs.db().doc(`${COLLECTION}/nothing-here`).get()).exists).toBe(false);

    const updated = await plain(
      call('patch', {
        name: docName('once'),
        currentDocument: { exists: true },
        updateMask: { fieldPaths: ['decidedBy'] },
        body: { fields: { decidedBy: { stringValue: 'alice' } } },
      }),
    );
    expect(updated.fields).toEqual({ claim: { stringValue: 'first' }, decidedBy: { stringValue: 'alice' } });
  });

  it(`patch with currentDocument.updateTime applies only at that version (${REF.precondition})`, async () => {
    const created = await plain(call('patch', { name: docName('versioned'), body: { fields: { v: { integerValue: '1' } } } }));
    const next = await plain(
      call('patch', {
        name: docName('versioned'),
        currentDocument: { updateTime: created.updateTime },
        body: { fields: { v: { integerValue: '2' } } },
      }),
    );
    expect(next.fields.v).toEqual({ integerValue: '2' });
    const stale = await failure(
      call('patch', {
        name: docName('versioned'),
        currentDocument: { updateTime: created.updateTime },
        body: { fields: { v: { integerValue: '3' } } },
      }),
    );
    expect(stale).toMatchObject({ tags: ['HttpError'], code: 400, body: { error: { status: 'FAILED_PRECONDITION' } } });
  });

  it(`delete returns {} and the document is gone; with exists: true a missing one is 404 (${REF.delete})`, async () => {
    await fs.db().doc(`${COLLECTION}/del`).set({ x: 1 });
    expect(await plain(call('delete', { name: docName('del') }))).toEqual({});
    expect((await fs.db().doc(`${COLLECTION}/del`).get()).exists).toBe(false);
    expect(await plain(call('delete', { name: docName('del') }))).toEqual({});
    const e = await failure(call('delete', { name: docName('del'), currentDocument: { exists: true } }));
    expect(e).toMatchObject({ tags: ['HttpError'], code: 404 });
  });

  it(`rejects malformed documents and names with HttpError 400 INVALID_ARGUMENT, as the API does (${REF.value})`, async () => {
    const cases: Record<string, unknown>[] = [
      { name: docName('bad'), body: { fields: { x: { fooValue: 1 } } } },
      { name: docName('bad'), body: { fields: { x: { stringValue: 'a', integerValue: '1' } } } },
      { name: docName('bad'), body: { fields: { x: { integerValue: '1.5' } } } },
      { name: docName('bad'), body: { fields: { x: { timestampValue: 'yesterday' } } } },
      { name: `${ROOT}/${COLLECTION}`, body: { fields: {} } },
      { name: 'things/bad', body: { fields: {} } },
      { name: docName('bad'), updateMask: { fieldPaths: ['a', 'a.b'] }, body: { fields: {} } },
    ];
    for (const args of cases) {
      expect(await failure(call('patch', args)), JSON.stringify(args)).toMatchObject({ tags: ['HttpError'], code: 400 });
    }
    expect((await fs.db().doc(`${COLLECTION}/bad`).get()).exists).toBe(false);
    expect((await failure(call('get', { name: 42 }))).tags).toEqual(['TypeError']);
    expect((await failure(call('patch', { name: docName('bad') }))).tags).toEqual(['TypeError']);
  });

  it(`a database other than the client's is 404 (${REF.overview})`, async () => {
    const e = await failure(call('get', { name: `projects/${TEST_PROJECT_ID}/databases/other/documents/${COLLECTION}/x` }));
    expect(e).toMatchObject({ tags: ['HttpError'], code: 404 });
  });
});

describe('int64 fidelity with a useBigInt client', () => {
  let client: Firestore | undefined;
  afterAll(async () => {
    await client?.terminate();
  });

  it(`keeps integerValue exact beyond 2^53 and doubles apart from integers (${REF.value})`, async (ctx) => {
    ctx.skip(npm, NPM_SKIP);
    client = new Firestore({ projectId: TEST_PROJECT_ID, useBigInt: true });
    const bigCall = connectors(() => client!);
    const fields = { max: { integerValue: '9223372036854775807' }, min: { integerValue: '-9223372036854775808' }, d: { doubleValue: 1.5 } };
    await bigCall('createDocument', { parent: ROOT, collectionId: COLLECTION, documentId: 'int64', body: { fields } });
    const got = await plain(bigCall('get', { name: docName('int64') }));
    expect(got.fields).toEqual(fields);
    expect((await client.doc(`${COLLECTION}/int64`).get()).get('max')).toBe(2n ** 63n - 1n);
    const outOfRange = await failure(
      bigCall('patch', { name: docName('int64'), body: { fields: { x: { integerValue: '9223372036854775808' } } } }),
    );
    expect(outOfRange).toMatchObject({ code: 400 });
  });
});
