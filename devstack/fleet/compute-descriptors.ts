/**
 * The Compute v1 messages the local Compute API answers with, from the descriptors the official
 * `@google-cloud/compute` client ships (its protos.json), so that a `fields` selection is checked
 * against Compute's own field names. The file (about 11 MB) is read on the first `fields` request.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { descriptorSchema, type MessageSchema, type ProtoJsonType } from '@bootwarden/workflows-emulator';

let descriptors: Promise<ProtoJsonType> | undefined;

/** Where the official Compute client keeps its descriptors (protos.json), for every reader here and in the tests. */
export function computeProtosPath(): string {
  return createRequire(import.meta.url).resolve('@google-cloud/compute/build/protos/protos.json');
}

/** The response message of a route: an instance, a list of them, or an operation (start, stop, relearn, operations). */
export async function responseSchema(kind: string, name: string | undefined, verb: string | undefined): Promise<MessageSchema> {
  descriptors ??= readFile(computeProtosPath(), 'utf8').then((text) => JSON.parse(text) as ProtoJsonType);
  const type = kind === 'instances' && verb === undefined ? (name === undefined ? 'InstanceList' : 'Instance') : 'Operation';
  return descriptorSchema(await descriptors, `google.cloud.compute.v1.${type}`);
}
