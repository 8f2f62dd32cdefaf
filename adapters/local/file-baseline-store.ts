/**
 * BaselineStore on the local file system, for the CLI and tests:
 * - a directory with one JSON document per baseline (`<id>.json`, the id being the document id), or
 * - one JSON file mapping document id → document (loaded once, rewritten atomically on change).
 * Documents have the Firestore shape of `known_good_measurements` (see core/baseline.ts).
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { baselineFromDocument, baselineToDocument, validateBaselineId, type Baseline } from '../../core/baseline.js';
import { BootwardenError } from '../../core/errors.js';
import { isJsonObject, MAX_JSON_DEPTH, jsonDepthExceeds, type JsonObject, type JsonValue } from '../../core/json.js';
import { fingerprint, isFingerprint, type Measurement } from '../../core/measurements.js';
import type { BaselineStore, StoredBaseline } from '../../core/ports/baseline-store.port.js';

/** Local stores count document reads, so that benchmarks and tests can check reads per decision. */
export interface CountingBaselineStore extends BaselineStore {
  readonly location: string;
  /** Reads made while deciding: a `get` and a `withMeasurements` look-up count one each. */
  documentReads: number;
  /** Documents read once to build the index of documents not keyed by their fingerprint. */
  indexReads: number;
  /** Ids that are not fingerprints: found by their PCR values (an extra read) until imported. */
  idsNotKeyedByFingerprint(): Promise<string[]>;
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
}

function ioError(what: string, file: string, e: unknown): BootwardenError {
  const reason = e instanceof Error ? e.message : String(e);
  return new BootwardenError('io_error', `cannot ${what} ${file}: ${reason}`, { cause: e });
}

function parseDocumentText(id: string, text: string, file: string): StoredBaseline {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    return { id, invalid: { code: 'input_too_deep', message: `${file} nests deeper than ${MAX_JSON_DEPTH} levels`, field: null } };
  }
  let doc: JsonValue;
  try {
    doc = JSON.parse(text) as JsonValue;
  } catch (e) {
    return { id, invalid: { code: 'invalid_json', message: `${file} is not JSON: ${(e as Error).message}`, field: null } };
  }
  return fromDocument(id, doc);
}

function fromDocument(id: string, doc: JsonValue): StoredBaseline {
  const idProblem = validateBaselineId(id);
  if (idProblem !== null) return { id, invalid: { code: 'invalid_field', message: idProblem, field: null } };
  const parsed = baselineFromDocument(id, doc);
  return parsed.ok ? { id, baseline: parsed.baseline } : { id, invalid: parsed.rejection };
}

/**
 * The index `withMeasurements` looks in: valid documents whose id is not their fingerprint (the
 * tutorial's `baseline1`, auto-ids), by the fingerprint of their measurements. Built once per
 * process, on the first look-up, and dropped on any write.
 */
type ContentIndex = Map<string, StoredBaseline[]>;

function indexByContent(docs: Iterable<StoredBaseline>): ContentIndex {
  const index: ContentIndex = new Map();
  for (const d of docs) {
    if (!('baseline' in d) || d.id === d.baseline.fingerprint) continue;
    index.set(d.baseline.fingerprint, [...(index.get(d.baseline.fingerprint) ?? []), d]);
  }
  return index;
}

function checkId(id: string): void {
  const problem = validateBaselineId(id);
  if (problem !== null) throw new BootwardenError('invalid_baseline_id', problem);
}

function serialize(doc: JsonObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export class DirectoryBaselineStore implements CountingBaselineStore {
  documentReads = 0;
  indexReads = 0;
  private index: Promise<ContentIndex> | null = null;
  constructor(readonly location: string) {}

  async withMeasurements(measurements: readonly Measurement[]): Promise<StoredBaseline[]> {
    this.index ??= this.buildIndex();
    const index = await this.index;
    this.documentReads++;
    return index.get(fingerprint(measurements)) ?? [];
  }

  private async buildIndex(): Promise<ContentIndex> {
    const docs: StoredBaseline[] = [];
    for (const id of await this.idsNotKeyedByFingerprint()) {
      if (validateBaselineId(id) !== null) continue;
      this.indexReads++;
      try {
        docs.push(parseDocumentText(id, await fs.readFile(this.file(id), 'utf8'), this.file(id)));
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw ioError('read baseline', this.file(id), e);
      }
    }
    return indexByContent(docs);
  }

  private file(id: string): string {
    return path.join(this.location, `${id}.json`);
  }

  async get(id: string): Promise<StoredBaseline | null> {
    if (validateBaselineId(id) !== null) return null;
    // A lookup is a read whether or not the document exists (Firestore bills it the same way).
    this.documentReads++;
    let text: string;
    try {
      text = await fs.readFile(this.file(id), 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return null;
      throw ioError('read baseline', this.file(id), e);
    }
    return parseDocumentText(id, text, this.file(id));
  }

  private async ids(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.location);
    } catch (e) {
      throw ioError('list baselines in', this.location, e);
    }
    return names
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .map((n) => n.slice(0, -'.json'.length))
      .sort();
  }

  async *list(): AsyncIterable<StoredBaseline> {
    for (const id of await this.ids()) {
      const stored = await this.get(id);
      if (stored !== null) yield stored;
      else if (validateBaselineId(id) !== null) {
        yield { id, invalid: { code: 'invalid_field', message: validateBaselineId(id) ?? '', field: null } };
      }
    }
  }

  async idsNotKeyedByFingerprint(): Promise<string[]> {
    return (await this.ids()).filter((id) => !isFingerprint(id));
  }

  /** Writes to a temporary file, then `place`s it: never a half-written document. */
  private async write(baseline: Baseline, place: (tmp: string, target: string) => Promise<void>): Promise<boolean> {
    checkId(baseline.id);
    this.index = null;
    const target = this.file(baseline.id);
    const tmp = path.join(this.location, `.${baseline.id}.${randomUUID()}.tmp`);
    try {
      await fs.writeFile(tmp, serialize(baselineToDocument(baseline)), { flag: 'wx' });
      await place(tmp, target);
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw ioError('write baseline', target, e);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** link() fails when the target exists: create-once. */
  create(baseline: Baseline): Promise<boolean> {
    return this.write(baseline, (tmp, target) => fs.link(tmp, target));
  }

  async save(baseline: Baseline): Promise<void> {
    await this.write(baseline, (tmp, target) => fs.rename(tmp, target));
  }

  async remove(id: string): Promise<boolean> {
    checkId(id);
    this.index = null;
    try {
      await fs.unlink(this.file(id));
      return true;
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw ioError('remove baseline', this.file(id), e);
    }
  }
}

/** All baselines in one JSON object `{id: document}`; read once, written back whole and atomically. */
export class JsonFileBaselineStore implements CountingBaselineStore {
  documentReads = 0;
  indexReads = 0;
  private index: ContentIndex | null = null;
  private constructor(
    readonly location: string,
    private readonly docs: Map<string, JsonValue>,
  ) {}

  static async open(file: string): Promise<JsonFileBaselineStore> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      throw ioError('read baselines file', file, e);
    }
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH + 1)) {
      throw new BootwardenError('invalid_baseline_document', `baselines file ${file} nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch (e) {
      throw new BootwardenError('invalid_baseline_document', `baselines file ${file} is not JSON: ${(e as Error).message}`);
    }
    if (!isJsonObject(value)) {
      throw new BootwardenError(
        'invalid_baseline_document',
        `baselines file ${file} must be a JSON object mapping document id to document`,
      );
    }
    return new JsonFileBaselineStore(file, new Map(Object.entries(value)));
  }

  get(id: string): Promise<StoredBaseline | null> {
    this.documentReads++;
    const doc = this.docs.get(id);
    if (doc === undefined) return Promise.resolve(null);
    return Promise.resolve(fromDocument(id, doc));
  }

  async *list(): AsyncIterable<StoredBaseline> {
    for (const id of [...this.docs.keys()].sort()) {
      const stored = await this.get(id);
      if (stored !== null) yield stored;
    }
  }

  idsNotKeyedByFingerprint(): Promise<string[]> {
    return Promise.resolve([...this.docs.keys()].filter((id) => !isFingerprint(id)).sort());
  }

  async withMeasurements(measurements: readonly Measurement[]): Promise<StoredBaseline[]> {
    if (this.index === null) {
      const ids = await this.idsNotKeyedByFingerprint();
      this.indexReads += ids.length;
      this.index = indexByContent(ids.map((id) => fromDocument(id, this.docs.get(id) as JsonValue)));
    }
    this.documentReads++;
    return this.index.get(fingerprint(measurements)) ?? [];
  }

  private async flush(): Promise<void> {
    this.index = null;
    const tmp = `${this.location}.${randomUUID()}.tmp`;
    const out: JsonObject = {};
    for (const id of [...this.docs.keys()].sort()) out[id] = this.docs.get(id) as JsonValue;
    try {
      await fs.writeFile(tmp, serialize(out), { flag: 'wx' });
      await fs.rename(tmp, this.location);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw ioError('write baselines file', this.location, e);
    }
  }

  async create(baseline: Baseline): Promise<boolean> {
    checkId(baseline.id);
    if (this.docs.has(baseline.id)) return false;
    this.docs.set(baseline.id, baselineToDocument(baseline));
    await this.flush();
    return true;
  }

  async save(baseline: Baseline): Promise<void> {
    checkId(baseline.id);
    this.docs.set(baseline.id, baselineToDocument(baseline));
    await this.flush();
  }

  async remove(id: string): Promise<boolean> {
    if (!this.docs.delete(id)) return false;
    await this.flush();
    return true;
  }
}

/**
 * Opens a directory or a single-file store. A path that does not exist is created as a directory
 * when `createIfMissing` (commands that add baselines), and is an error otherwise.
 */
export async function openFileBaselineStore(location: string, opts: { createIfMissing?: boolean } = {}): Promise<CountingBaselineStore> {
  try {
    const st = await fs.stat(location);
    if (st.isDirectory()) return new DirectoryBaselineStore(location);
    return await JsonFileBaselineStore.open(location);
  } catch (e) {
    if (e instanceof BootwardenError) throw e;
    if (errno(e) !== 'ENOENT') throw ioError('open baselines at', location, e);
    if (!opts.createIfMissing) {
      throw new BootwardenError(
        'not_found',
        `baselines ${location} does not exist (give a directory of documents or a JSON file of id → document)`,
      );
    }
    if (location.endsWith('.json')) {
      await fs.writeFile(location, '{}\n', { flag: 'wx' });
      return JsonFileBaselineStore.open(location);
    }
    await fs.mkdir(location, { recursive: true });
    return new DirectoryBaselineStore(location);
  }
}
