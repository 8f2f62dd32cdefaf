import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RejectionCode } from '../../core/errors.js';
import { KNOWN_EVENT_KINDS } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { futureProblem, parseEnvelope, parseEnvelopeText, type ParseOutcome } from '../../core/parse.js';
import { compareTimestamps, epochMs, TIMESTAMP_EXPECTED } from '../../core/time.js';
import { bootReportEntry, eventarcBody, pubsubMessage, simpleEventEntry } from '../../devstack/entries.js';
import { BIG_ID_VM, edited, failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM, WINDOWS_NOV, WINDOWS_OCT } from '../support/fixtures.js';

function ok(o: ParseOutcome) {
  if (!o.ok) throw new Error(`expected an event, got ${o.rejection.code}: ${o.rejection.message}`);
  return o.event;
}

function rejected(o: ParseOutcome) {
  if (o.ok) throw new Error(`expected a rejection, got a ${o.event.kind}`);
  return o.rejection;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

describe('envelopes', () => {
  const entry = failedLateBoot();
  it.each([
    ['LogEntry', entry, null],
    ['Pub/Sub message', pubsubMessage(entry, '42'), '42'],
    ['Eventarc messagePublished body', eventarcBody(entry, '43'), '43'],
    [
      'structured CloudEvent',
      {
        specversion: '1.0',
        id: '44',
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: '//pubsub',
        data: eventarcBody(entry, '44'),
      },
      '44',
    ],
    [
      'Pub/Sub message with snake_case ids',
      { data: b64(JSON.stringify(entry)), message_id: '45', publish_time: '2026-11-01T10:00:00.540Z' },
      '45',
    ],
  ])('%s yields the same event', (_name, input, messageId) => {
    const event = ok(parseEnvelopeText(JSON.stringify(input)));
    expect(event.kind).toBe('lateBootReportEvent');
    expect(event.instance).toEqual(LINUX_VM);
    expect(event.entry.insertId).toBe(entry['insertId']);
    expect(event.delivery?.messageId ?? null).toBe(messageId);
    expect(parseEnvelope(input)).toEqual(parseEnvelopeText(JSON.stringify(input)));
  });

  it('reads the hand-written tutorial-shaped fixture (SHA1, reordered measurements)', () => {
    const event = ok(parseEnvelopeText(readFileSync(new URL('../fixtures/late-boot-failed.logentry.json', import.meta.url), 'utf8')));
    expect(event.kind).toBe('lateBootReportEvent');
    expect(event.instance.id).toBe('9007199254740993123');
    expect(event.bootCounter).toBe('3');
    expect(event.severity).toBe('ERROR');
    if (event.kind !== 'lateBootReportEvent') throw new Error('kind');
    expect(event.report.policyEvaluationPassed).toBe(false);
    expect(event.report.actualMeasurements.map((m) => m.pcrNum)).toEqual(['PCR_7', 'PCR_0', 'PCR_4']);
  });

  it('keeps a 20-digit instance id exactly', () => {
    const event = ok(parseEnvelopeText(JSON.stringify(failedLateBoot({ instance: BIG_ID_VM }))));
    expect(event.instance.id).toBe('18446744073709551557');
  });

  it('reads a Windows SHA1 report with six PCRs', () => {
    const event = ok(
      parseEnvelopeText(
        JSON.stringify(
          bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 2, actual: WINDOWS_NOV, policy: WINDOWS_OCT }),
        ),
      ),
    );
    if (event.kind !== 'lateBootReportEvent') throw new Error('kind');
    expect(event.report.actualMeasurements.map((m) => `${m.pcrNum}/${m.hashAlgo}`)).toEqual([
      'PCR_0/SHA1',
      'PCR_4/SHA1',
      'PCR_7/SHA1',
      'PCR_11/SHA1',
      'PCR_13/SHA1',
      'PCR_14/SHA1',
    ]);
  });
});

describe('event kinds', () => {
  const base = { instance: LINUX_VM, bootCounter: 5 };
  it.each(KNOWN_EVENT_KINDS.filter((k) => k !== 'earlyBootReportEvent' && k !== 'lateBootReportEvent'))('%s is its own kind', (kind) => {
    const event = ok(
      parseEnvelope(simpleEventEntry(kind, base, kind === 'sevLaunchAttestationReportEvent' ? { integrityEvaluationPassed: false } : {})),
    );
    expect(event.kind).toBe(kind);
    if (event.kind === 'sevLaunchAttestationReportEvent') expect(event.integrityEvaluationPassed).toBe(false);
  });

  it.each(['earlyBootReportEvent', 'lateBootReportEvent'] as const)('%s carries its report', (kind) => {
    const event = ok(parseEnvelope(bootReportEntry(kind, { ...base, actual: KERNEL_26, policy: KERNEL_25 })));
    expect(event.kind).toBe(kind);
    if (event.kind !== kind) throw new Error('kind');
    expect(event.report.policyEvaluationPassed).toBe(false);
    expect(event.report.policyMeasurements).toHaveLength(3);
  });

  it('an unknown future kind is its own variant, not an error', () => {
    const event = ok(parseEnvelope(simpleEventEntry('quantumBootReportEvent', base, { anything: [1, 2] })));
    expect(event).toMatchObject({ kind: 'unknown', eventKeys: ['quantumBootReportEvent'] });
  });

  it('a payload with no event key is unknown', () => {
    const event = ok(parseEnvelope(edited(simpleEventEntry('startupEvent', base), (e) => delete e.jsonPayload.startupEvent)));
    expect(event).toMatchObject({ kind: 'unknown', eventKeys: [] });
  });

  it('an unknown extra key beside a known kind does not hide the known kind', () => {
    const event = ok(parseEnvelope(edited(failedLateBoot(), (e) => (e.jsonPayload.futureField = { x: 1 }))));
    expect(event.kind).toBe('lateBootReportEvent');
  });

  it('a bootCounter given as a JSON number is normalised to a string', () => {
    const event = ok(parseEnvelope(edited(failedLateBoot(), (e) => (e.jsonPayload.bootCounter = 12))));
    expect(event.bootCounter).toBe('12');
  });

  it('a startup event without bootCounter is accepted with bootCounter null', () => {
    const event = ok(parseEnvelope(edited(simpleEventEntry('startupEvent', base), (e) => delete e.jsonPayload.bootCounter)));
    expect(event.bootCounter).toBeNull();
  });
});

type Case = [name: string, input: string, code: RejectionCode, mentions: string];

const entryText = (mutate: (e: any) => void): string => JSON.stringify(edited(failedLateBoot(), mutate));
const measurementPath = 'jsonPayload.lateBootReportEvent.actualMeasurements';
const good = failedLateBoot();
const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const isLogEntryText = (input: string): boolean => {
  try {
    const value: unknown = JSON.parse(input);
    return typeof value === 'object' && value !== null && ('jsonPayload' in value || 'logName' in value || 'protoPayload' in value);
  } catch {
    return false;
  }
};

const BAD_INPUTS: Case[] = [
  ['not JSON', '{"insertId": ', 'invalid_json', 'not JSON'],
  ['empty input', '', 'invalid_json', 'not JSON'],
  ['a JSON array', '[]', 'unrecognized_envelope', 'replay'],
  ['a JSON string', '"hello"', 'unrecognized_envelope', 'not a JSON object'],
  ['an unrelated object', '{"foo": 1}', 'unrecognized_envelope', 'foo'],
  ['oversized LogEntry', entryText((e) => (e.jsonPayload.padding = 'x'.repeat(300 * 1024))), 'input_too_large', 'limit is 262144'],
  ['oversized envelope', JSON.stringify({ foo: 'x'.repeat(600 * 1024) }), 'input_too_large', 'limit'],
  ['absurd nesting', deep(10_000), 'input_too_deep', 'deeper than 32'],
  [
    'Pub/Sub data with garbage',
    JSON.stringify({ messageId: '1', data: b64(JSON.stringify(good)).slice(0, 40) + '!!' + b64(JSON.stringify(good)).slice(40) }),
    'invalid_base64',
    "'!'",
  ],
  ['Pub/Sub data without padding', JSON.stringify({ messageId: '1', data: 'eyJ9' + 'YQ' }), 'invalid_base64', 'multiple of 4'],
  ['Pub/Sub data that is not JSON', JSON.stringify({ messageId: '1', data: b64('hello world!') }), 'invalid_json', 'message.data'],
  ['Pub/Sub data missing', JSON.stringify({ messageId: '1', attributes: {} }), 'unrecognized_envelope', 'neither'],
  [
    'Eventarc body with empty data',
    JSON.stringify({ message: { messageId: '1', data: '' }, subscription: 's' }),
    'missing_field',
    'message.data',
  ],
  ['Eventarc data with whitespace', JSON.stringify({ message: { messageId: '1', data: 'eyJh Ijox fQ==' } }), 'invalid_base64', 'offset 4'],
  [
    'wrong @type',
    entryText((e) => (e.jsonPayload['@type'] = 'type.googleapis.com/google.cloud.audit.AuditLog')),
    'wrong_payload_type',
    'jsonPayload.@type',
  ],
  ['missing @type', entryText((e) => delete e.jsonPayload['@type']), 'wrong_payload_type', 'jsonPayload.@type'],
  ['audit log (protoPayload)', entryText((e) => ((e.protoPayload = {}), delete e.jsonPayload)), 'wrong_payload_type', 'protoPayload'],
  ['missing jsonPayload', entryText((e) => delete e.jsonPayload), 'missing_field', 'jsonPayload'],
  ['another log', entryText((e) => (e.logName = 'projects/acme-prod/logs/syslog')), 'wrong_log_name', 'logName'],
  ['missing logName', entryText((e) => delete e.logName), 'missing_field', 'logName'],
  ['missing insertId', entryText((e) => delete e.insertId), 'missing_field', 'insertId'],
  ['bad timestamp', entryText((e) => (e.timestamp = 'yesterday')), 'invalid_timestamp', 'timestamp'],
  ['missing resource', entryText((e) => delete e.resource), 'missing_field', 'resource'],
  ['wrong resource type', entryText((e) => (e.resource.type = 'gce_disk')), 'invalid_field', 'resource.type'],
  ['missing labels', entryText((e) => delete e.resource.labels), 'missing_field', 'resource.labels'],
  ['instance_id missing', entryText((e) => delete e.resource.labels.instance_id), 'missing_field', 'resource.labels.instance_id'],
  [
    'instance_id as a number',
    entryText((e) => (e.resource.labels.instance_id = 4356841712468193)),
    'invalid_field',
    'resource.labels.instance_id',
  ],
  ['instance_id not digits', entryText((e) => (e.resource.labels.instance_id = '12ab')), 'invalid_field', 'resource.labels.instance_id'],
  [
    'instance_id of 21 digits',
    entryText((e) => (e.resource.labels.instance_id = '1'.repeat(21))),
    'invalid_field',
    'resource.labels.instance_id',
  ],
  ['project_id not a string', entryText((e) => (e.resource.labels.project_id = ['acme'])), 'invalid_field', 'resource.labels.project_id'],
  ['zone malformed', entryText((e) => (e.resource.labels.zone = 'moon-1')), 'invalid_field', 'resource.labels.zone'],
  [
    'policyEvaluationPassed a string',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.policyEvaluationPassed = 'false')),
    'invalid_field',
    'policyEvaluationPassed',
  ],
  [
    'policyEvaluationPassed missing',
    entryText((e) => delete e.jsonPayload.lateBootReportEvent.policyEvaluationPassed),
    'missing_field',
    'policyEvaluationPassed',
  ],
  [
    'boot report not an object',
    entryText((e) => (e.jsonPayload.lateBootReportEvent = true)),
    'invalid_field',
    'jsonPayload.lateBootReportEvent',
  ],
  [
    'actualMeasurements missing',
    entryText((e) => delete e.jsonPayload.lateBootReportEvent.actualMeasurements),
    'missing_field',
    measurementPath,
  ],
  [
    'actualMeasurements empty',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements = [])),
    'invalid_field',
    measurementPath,
  ],
  [
    'actualMeasurements not a list',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements = {})),
    'invalid_field',
    measurementPath,
  ],
  [
    'measurement not an object',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0] = 'PCR_0')),
    'invalid_field',
    `${measurementPath}[0]`,
  ],
  [
    'empty pcrNum',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum = '')),
    'invalid_field',
    `${measurementPath}[1].pcrNum is empty`,
  ],
  [
    'missing pcrNum',
    entryText((e) => delete e.jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum),
    'missing_field',
    `${measurementPath}[1].pcrNum`,
  ],
  [
    'pcrNum out of range',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum = 'PCR_24')),
    'invalid_field',
    'PCR_0 to PCR_23',
  ],
  [
    'pcrNum __proto__',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum = '__proto__')),
    'forbidden_key',
    '__proto__',
  ],
  [
    'duplicate pcrNum',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[2].pcrNum = 'PCR_0')),
    'duplicate_pcr',
    'PCR_0 more than once',
  ],
  [
    'the same PCR in two hash banks',
    entryText((e) => {
      const list = e.jsonPayload.lateBootReportEvent.actualMeasurements as object[];
      list.push({ hashAlgo: 'SHA1', pcrNum: 'PCR_0', value: Buffer.alloc(20, 1).toString('base64') });
    }),
    'duplicate_pcr',
    'actualMeasurements lists PCR_0 more than once',
  ],
  [
    'duplicate pcrNum in policyMeasurements',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.policyMeasurements[1].pcrNum = 'PCR_0')),
    'duplicate_pcr',
    'policyMeasurements',
  ],
  [
    '__proto__ key in payload',
    JSON.stringify(good).replace('"bootCounter"', '"__proto__":{"polluted":1},"bootCounter"'),
    'forbidden_key',
    '__proto__',
  ],
  [
    'constructor key in a measurement',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].constructor = 1)),
    'forbidden_key',
    'constructor',
  ],
  [
    'unsupported hashAlgo',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].hashAlgo = 'MD5')),
    'unsupported_hash_algo',
    'SHA1, SHA256',
  ],
  [
    'hash value not base64',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].value = 'zz*z')),
    'invalid_hash_value',
    `${measurementPath}[0].value`,
  ],
  [
    'hash value a number',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].value = 7)),
    'invalid_hash_value',
    'base64 string',
  ],
  [
    'SHA256 value of SHA1 length',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].value = b64(Buffer.alloc(20)))),
    'invalid_hash_value',
    '20 bytes',
  ],
  [
    'SHA1 value of SHA256 length',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].hashAlgo = 'SHA1')),
    'invalid_hash_value',
    'SHA1 digest is 20 bytes',
  ],
  [
    'non-canonical base64 value',
    entryText((e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[0].value = b64(Buffer.alloc(32)).replace(/A=$/, 'B='))),
    'invalid_hash_value',
    'canonical',
  ],
  ['bootCounter negative', entryText((e) => (e.jsonPayload.bootCounter = '-1')), 'invalid_field', 'jsonPayload.bootCounter'],
  ['bootCounter missing on a boot report', entryText((e) => delete e.jsonPayload.bootCounter), 'missing_field', 'jsonPayload.bootCounter'],
  ['bootCounter past uint64', entryText((e) => (e.jsonPayload.bootCounter = '99999999999999999999')), 'invalid_field', 'out of range'],
  ['two event kinds', entryText((e) => (e.jsonPayload.startupEvent = {})), 'multiple_event_kinds', 'lateBootReportEvent and startupEvent'],
  [
    'launch attestation verdict not boolean',
    JSON.stringify(
      simpleEventEntry('sevLaunchAttestationReportEvent', { instance: LINUX_VM, bootCounter: 1 }, { integrityEvaluationPassed: 'no' }),
    ),
    'invalid_field',
    'integrityEvaluationPassed',
  ],
];

/**
 * The exact rejection of each bad input: what an operator reads in the rejected-inputs record and
 * the log. Messages that quote the JavaScript JSON parser are matched up to its text.
 */
const REJECTIONS: [name: string, message: string | RegExp, field: string | null][] = [
  ['not JSON', /^input is not JSON: /, null],
  ['empty input', /^input is not JSON: /, null],
  ['a JSON array', 'input is a JSON array (a log export?); give one entry, or use `bootwarden replay` for exports', null],
  ['a JSON string', 'input is "hello", not a JSON object', null],
  ['an unrelated object', 'input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: foo)', null],
  ['oversized LogEntry', 'log entry is 308331 bytes; the limit is 262144', null],
  ['oversized envelope', 'input is 614410 bytes; the limit is 524288', null],
  ['absurd nesting', 'input nests deeper than 32 levels', null],
  ['Pub/Sub data with garbage', "message.data has '!' at offset 40, which is not a base64 character", 'message.data'],
  ['Pub/Sub data without padding', 'message.data has length 6, not a multiple of 4 (missing or extra padding)', 'message.data'],
  ['Pub/Sub data that is not JSON', /^message\.data \(the LogEntry\) is not JSON: /, null],
  [
    'Pub/Sub data missing',
    'input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: messageId, attributes)',
    null,
  ],
  ['Eventarc body with empty data', 'message.data is missing or empty', 'message.data'],
  ['Eventarc data with whitespace', 'message.data has " " at offset 4, which is not a base64 character', 'message.data'],
  [
    'wrong @type',
    'jsonPayload.@type is "type.googleapis.com/google.cloud.audit.AuditLog"; expected "type.googleapis.com/cloud_integrity.IntegrityEvent"',
    'jsonPayload.@type',
  ],
  ['missing @type', 'jsonPayload.@type is missing; expected "type.googleapis.com/cloud_integrity.IntegrityEvent"', 'jsonPayload.@type'],
  ['audit log (protoPayload)', 'the entry has a protoPayload (an audit log?); integrity events carry a jsonPayload', 'protoPayload'],
  ['missing jsonPayload', 'jsonPayload is missing', 'jsonPayload'],
  [
    'another log',
    'logName is "projects/acme-prod/logs/syslog"; expected projects/PROJECT/logs/compute.googleapis.com%2Fshielded_vm_integrity (check the log sink filter)',
    'logName',
  ],
  ['missing logName', 'logName is missing', 'logName'],
  ['missing insertId', 'insertId is missing', 'insertId'],
  [
    'bad timestamp',
    'timestamp is "yesterday"; expected an RFC 3339 instant like "2026-03-01T08:15:30.123456789Z" (a real date and time, offset within ±23:59)',
    'timestamp',
  ],
  ['missing resource', 'resource is missing', 'resource'],
  ['wrong resource type', 'resource.type is "gce_disk"; integrity events come from "gce_instance"', 'resource.type'],
  ['missing labels', 'resource.labels is missing', 'resource.labels'],
  ['instance_id missing', 'resource.labels.instance_id is missing', 'resource.labels.instance_id'],
  [
    'instance_id as a number',
    'resource.labels.instance_id is a JSON number; it must be a decimal string (numbers lose digits past 2^53)',
    'resource.labels.instance_id',
  ],
  [
    'instance_id not digits',
    'resource.labels.instance_id is "12ab"; expected a decimal string of 1 to 20 digits',
    'resource.labels.instance_id',
  ],
  [
    'instance_id of 21 digits',
    'resource.labels.instance_id is "111111111111111111111"; expected a decimal string of 1 to 20 digits',
    'resource.labels.instance_id',
  ],
  ['project_id not a string', 'resource.labels.project_id must be a string, got ["acme"]', 'resource.labels.project_id'],
  ['zone malformed', 'resource.labels.zone is "moon-1"; expected a zone like "us-central1-a"', 'resource.labels.zone'],
  [
    'policyEvaluationPassed a string',
    'jsonPayload.lateBootReportEvent.policyEvaluationPassed must be true or false, got "false"',
    'jsonPayload.lateBootReportEvent.policyEvaluationPassed',
  ],
  [
    'policyEvaluationPassed missing',
    'jsonPayload.lateBootReportEvent.policyEvaluationPassed is missing',
    'jsonPayload.lateBootReportEvent.policyEvaluationPassed',
  ],
  ['boot report not an object', 'jsonPayload.lateBootReportEvent must be an object, got true', 'jsonPayload.lateBootReportEvent'],
  [
    'actualMeasurements missing',
    'jsonPayload.lateBootReportEvent.actualMeasurements is missing',
    'jsonPayload.lateBootReportEvent.actualMeasurements',
  ],
  [
    'actualMeasurements empty',
    'jsonPayload.lateBootReportEvent.actualMeasurements is empty; a boot report measures at least one PCR',
    'jsonPayload.lateBootReportEvent.actualMeasurements',
  ],
  [
    'actualMeasurements not a list',
    'jsonPayload.lateBootReportEvent.actualMeasurements must be a list of measurements',
    'jsonPayload.lateBootReportEvent.actualMeasurements',
  ],
  [
    'measurement not an object',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0] must be an object {hashAlgo, pcrNum, value}',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0]',
  ],
  [
    'empty pcrNum',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum is empty',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum',
  ],
  [
    'missing pcrNum',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum is missing',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum',
  ],
  [
    'pcrNum out of range',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum is "PCR_24"; expected PCR_0 to PCR_23',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum',
  ],
  [
    'pcrNum __proto__',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum is "__proto__", which is not allowed',
    'jsonPayload.lateBootReportEvent.actualMeasurements[1].pcrNum',
  ],
  [
    'duplicate pcrNum',
    'jsonPayload.lateBootReportEvent.actualMeasurements lists PCR_0 more than once',
    'jsonPayload.lateBootReportEvent.actualMeasurements[2].pcrNum',
  ],
  [
    'the same PCR in two hash banks',
    'jsonPayload.lateBootReportEvent.actualMeasurements lists PCR_0 more than once',
    'jsonPayload.lateBootReportEvent.actualMeasurements[3].pcrNum',
  ],
  [
    'duplicate pcrNum in policyMeasurements',
    'jsonPayload.lateBootReportEvent.policyMeasurements lists PCR_0 more than once',
    'jsonPayload.lateBootReportEvent.policyMeasurements[1].pcrNum',
  ],
  ['__proto__ key in payload', 'jsonPayload has the key "__proto__", which is not allowed', 'jsonPayload.__proto__'],
  [
    'constructor key in a measurement',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0] has the key "constructor", which is not allowed',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].constructor',
  ],
  [
    'unsupported hashAlgo',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].hashAlgo is "MD5"; expected one of SHA1, SHA256',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].hashAlgo',
  ],
  [
    'hash value not base64',
    "jsonPayload.lateBootReportEvent.actualMeasurements[0].value has '*' at offset 2, which is not a base64 character",
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value',
  ],
  [
    'hash value a number',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value must be a base64 string',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value',
  ],
  [
    'SHA256 value of SHA1 length',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value decodes to 20 bytes; a SHA256 digest is 32 bytes',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value',
  ],
  [
    'SHA1 value of SHA256 length',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value decodes to 32 bytes; a SHA1 digest is 20 bytes',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value',
  ],
  [
    'non-canonical base64 value',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value is not canonical base64 (misplaced padding or non-zero trailing bits)',
    'jsonPayload.lateBootReportEvent.actualMeasurements[0].value',
  ],
  [
    'bootCounter negative',
    'jsonPayload.bootCounter is "-1"; expected a non-negative integer as a decimal string',
    'jsonPayload.bootCounter',
  ],
  [
    'bootCounter missing on a boot report',
    'jsonPayload.bootCounter is missing; a boot report needs it to tell boots apart',
    'jsonPayload.bootCounter',
  ],
  ['bootCounter past uint64', 'jsonPayload.bootCounter is out of range', 'jsonPayload.bootCounter'],
  ['two event kinds', 'jsonPayload has lateBootReportEvent and startupEvent; an integrity event carries exactly one', 'jsonPayload'],
  [
    'launch attestation verdict not boolean',
    'jsonPayload.sevLaunchAttestationReportEvent.integrityEvaluationPassed must be true or false, got "no"',
    'jsonPayload.sevLaunchAttestationReportEvent.integrityEvaluationPassed',
  ],
];
const EXPECTED_REJECTIONS = new Map(REJECTIONS.map(([name, message, field]) => [name, [message, field] as const]));

describe('bad input is rejected with a stable code naming the field', () => {
  it('every bad input has its exact rejection written down', () => {
    expect([...EXPECTED_REJECTIONS.keys()]).toEqual(BAD_INPUTS.map(([name]) => name));
  });

  it.each(BAD_INPUTS)('%s', (name, input, code, mentions) => {
    const [message, field] = EXPECTED_REJECTIONS.get(name) ?? ['(not written down)', null];
    const r = rejected(parseEnvelopeText(input));
    expect(r).toEqual({ code, message: typeof message === 'string' ? message : expect.stringMatching(message), field });
    expect(r.message).toContain(mentions);
  });

  // Only the rows whose input is itself a LogEntry can be carried by an Eventarc delivery; the
  // oversized entry has its own row below, since wrapping changes which limit applies.
  const logEntryRows = BAD_INPUTS.filter(([, input, code]) => code !== 'input_too_large' && isLogEntryText(input));

  it('the wrapped rows are every row but the envelopes, non-entries and the oversized entry', () => {
    expect(BAD_INPUTS.filter((row) => !logEntryRows.includes(row)).map(([name]) => name)).toEqual([
      'not JSON',
      'empty input',
      'a JSON array',
      'a JSON string',
      'an unrelated object',
      'oversized LogEntry',
      'oversized envelope',
      'absurd nesting',
      'Pub/Sub data with garbage',
      'Pub/Sub data without padding',
      'Pub/Sub data that is not JSON',
      'Pub/Sub data missing',
      'Eventarc body with empty data',
      'Eventarc data with whitespace',
    ]);
  });

  it.each(logEntryRows)('%s, wrapped in an Eventarc event, is rejected the same way', (name, input, code) => {
    const [message, field] = EXPECTED_REJECTIONS.get(name) ?? ['(not written down)', null];
    const r = rejected(parseEnvelopeText(JSON.stringify(eventarcBody(JSON.parse(input) as JsonObject))));
    expect(r).toEqual({ code, message: typeof message === 'string' ? message : expect.stringMatching(message), field });
  });

  it('an oversized LogEntry wrapped in an Eventarc event is refused by the LogEntry limit on message.data', () => {
    const input = JSON.stringify(eventarcBody(edited(failedLateBoot(), (e) => (e.jsonPayload.padding = 'x'.repeat(300 * 1024)))));
    const r = rejected(parseEnvelopeText(input));
    expect(r.code).toBe('input_too_large');
    expect(r.message).toBe('message.data decodes to more than 262144 bytes, the LogEntry limit');
  });

  it('a rejection keeps what identifies the entry, for the rejected-input record', () => {
    const o = parseEnvelopeText(
      JSON.stringify(
        eventarcBody(
          edited(good, (e) => (e.jsonPayload['@type'] = 'x')),
          '77',
        ),
      ),
    );
    if (o.ok) throw new Error('expected rejection');
    expect(o.context).toEqual({
      messageId: '77',
      logName: good['logName'],
      insertId: good['insertId'],
      timestamp: good['timestamp'],
      instanceId: LINUX_VM.id,
    });
  });

  it('never throws, whatever the JSON', () => {
    const samples = [
      null,
      1,
      true,
      [],
      {},
      { message: 1 },
      { message: { data: 5 } },
      { specversion: '1.0', data: 3 },
      { jsonPayload: null, logName: 1 },
    ];
    for (const s of samples) expect(parseEnvelope(s as never).ok).toBe(false);
  });

  it('does not pollute Object.prototype', () => {
    parseEnvelopeText(JSON.stringify(good).replace('"bootCounter"', '"__proto__":{"polluted":1},"bootCounter"'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('details an operator relies on', () => {
  const good = failedLateBoot();
  const message = (data: string) => ({ message: { messageId: 'm', data } });

  it.each([
    ['a bootCounter with leading zeros', edited(good, (e) => (e.jsonPayload.bootCounter = '007')), { bootCounter: '7' }],
    ['a bootCounter of zeros', edited(good, (e) => (e.jsonPayload.bootCounter = '000')), { bootCounter: '0' }],
    ['a bootCounter of JSON 0', edited(good, (e) => (e.jsonPayload.bootCounter = 0)), { bootCounter: '0' }],
    [
      'the largest bootCounter',
      edited(good, (e) => (e.jsonPayload.bootCounter = '18446744073709551615')),
      { bootCounter: '18446744073709551615' },
    ],
    [
      'a logName with the log id unencoded',
      edited(good, (e) => (e.logName = 'projects/acme-prod/logs/compute.googleapis.com/shielded_vm_integrity')),
      { entry: { logName: 'projects/acme-prod/logs/compute.googleapis.com/shielded_vm_integrity' } },
    ],
    ['no severity', edited(good, (e) => delete e.severity), { severity: null }],
    [
      'no policyMeasurements',
      edited(good, (e) => delete e.jsonPayload.lateBootReportEvent.policyMeasurements),
      { report: { policyMeasurements: [] } },
    ],
    ['a protoPayload beside the jsonPayload', edited(good, (e) => (e.protoPayload = {})), { kind: 'lateBootReportEvent' }],
    [
      'an Eventarc body',
      eventarcBody(good, 'm-1'),
      {
        delivery: {
          messageId: 'm-1',
          publishTime: '2026-11-01T10:00:00.723Z',
          subscription: 'projects/my-project/subscriptions/eventarc-integrity-sub',
        },
      },
    ],
    [
      'a bare Pub/Sub message',
      pubsubMessage(good, 'p-1'),
      { delivery: { messageId: 'p-1', publishTime: '2026-11-01T10:00:00.723Z', subscription: null } },
    ],
    [
      'a structured CloudEvent whose message has no id (the CloudEvent id stands in)',
      {
        specversion: '1.0',
        id: 'ce-7',
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: '//pubsub.googleapis.com/projects/acme-sec/topics/integrity',
        data: { message: { data: b64(JSON.stringify(good)) }, subscription: 'projects/acme-sec/subscriptions/sub' },
      },
      { delivery: { messageId: 'ce-7', publishTime: null, subscription: 'projects/acme-sec/subscriptions/sub' } },
    ],
    [
      'a Pub/Sub message known by its attributes alone',
      { data: b64(JSON.stringify(good)), attributes: {} },
      { delivery: { messageId: null, publishTime: null, subscription: null } },
    ],
    [
      'a Pub/Sub message known by publish_time alone',
      { data: b64(JSON.stringify(good)), publish_time: '2026-11-01T10:00:00.540Z' },
      { delivery: { messageId: null, publishTime: '2026-11-01T10:00:00.540Z', subscription: null } },
    ],
    [
      'a Pub/Sub message known by publishTime alone',
      { data: b64(JSON.stringify(good)), publishTime: '2026-11-01T10:00:00.540Z' },
      { delivery: { messageId: null, publishTime: '2026-11-01T10:00:00.540Z', subscription: null } },
    ],
    [
      'a Pub/Sub message known by message_id alone',
      { data: b64(JSON.stringify(good)), message_id: '46' },
      { delivery: { messageId: '46', publishTime: null, subscription: null } },
    ],
    [
      'an Eventarc body in snake_case, with an empty subscription',
      { message: { message_id: '47', publish_time: '2026-11-01T10:00:00.540Z', data: b64(JSON.stringify(good)) }, subscription: '' },
      { delivery: { messageId: '47', publishTime: '2026-11-01T10:00:00.540Z', subscription: null } },
    ],
    [
      'an empty message id (no id, not an empty one)',
      { message: { messageId: '', data: b64(JSON.stringify(good)) } },
      { delivery: { messageId: null } },
    ],
    [
      'an empty CloudEvent id',
      { specversion: '1.0', id: '', data: { message: { data: b64(JSON.stringify(good)) } } },
      { delivery: { messageId: null } },
    ],
  ] as [string, JsonObject, object][])('accepts %s', (_name, input, expected) => {
    const o = parseEnvelope(input);
    if (!o.ok) throw new Error(`rejected: ${o.rejection.message}`);
    expect(o.event).toMatchObject(expected);
  });

  it.each([
    [
      'a negative JSON bootCounter',
      edited(good, (e) => (e.jsonPayload.bootCounter = -1)),
      'jsonPayload.bootCounter is -1; expected a non-negative integer as a decimal string',
      'jsonPayload.bootCounter',
    ],
    [
      'a JSON bootCounter past 2^53',
      edited(good, (e) => (e.jsonPayload.bootCounter = 2 ** 53)),
      'jsonPayload.bootCounter is 9007199254740992; expected a non-negative integer as a decimal string',
      'jsonPayload.bootCounter',
    ],
    [
      'a fractional bootCounter',
      edited(good, (e) => (e.jsonPayload.bootCounter = 1.5)),
      'jsonPayload.bootCounter is 1.5; expected a non-negative integer as a decimal string',
      'jsonPayload.bootCounter',
    ],
    [
      'a long value, shown cut',
      edited(good, (e) => (e.resource.type = 'x'.repeat(70))),
      `resource.type is "${'x'.repeat(56)}...; integrity events come from "gce_instance"`,
      'resource.type',
    ],
    ['an empty insertId', edited(good, (e) => (e.insertId = '')), 'insertId is empty', 'insertId'],
    ['a logName that is not a string', edited(good, (e) => (e.logName = 5)), 'logName must be a string, got 5', 'logName'],
    ['a severity that is not a string', edited(good, (e) => (e.severity = 5)), 'severity must be a string, got 5', 'severity'],
    [
      'an object of seven unknown keys (five are named)',
      { a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1 },
      'input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: a, b, c, d, e)',
      null,
    ],
    ['an empty object', {}, 'input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: none)', null],
    [
      'a data field alone (no Pub/Sub key)',
      { data: b64(JSON.stringify(good)) },
      'input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: data)',
      null,
    ],
    [
      'a structured CloudEvent whose data is a string',
      { specversion: '1.0', id: 'ce-1', data: 'x' },
      'CloudEvent data must be an object {message, subscription}',
      'data',
    ],
    ['an Eventarc body whose message is null', { message: null, subscription: 's' }, 'body.message is missing', 'body.message'],
    [
      'message.data that is a number',
      { message: { messageId: 'm', data: 5 } },
      'message.data must be a base64 string, got 5',
      'message.data',
    ],
    ['message.data holding a JSON list', message(b64('[1]')), 'message.data must hold a LogEntry object', 'message.data'],
    ['an entry with an insertId only', { insertId: 'x' }, 'logName is missing', 'logName'],
    ['an entry with a protoPayload only', { protoPayload: {} }, 'logName is missing', 'logName'],
    ['an entry with a jsonPayload only', { jsonPayload: {} }, 'logName is missing', 'logName'],
    [
      'an entry with a logName only',
      { logName: 'projects/acme-prod/logs/compute.googleapis.com%2Fshielded_vm_integrity' },
      'insertId is missing',
      'insertId',
    ],
  ] as [string, JsonObject, string, string | null][])('rejects %s', (name, input, messageText, field) => {
    const code =
      name.startsWith('an object') || name.startsWith('an empty object') || name.startsWith('a data field')
        ? 'unrecognized_envelope'
        : messageText.endsWith('is missing')
          ? 'missing_field'
          : 'invalid_field';
    expect(rejected(parseEnvelope(input))).toEqual({ code, message: messageText, field });
  });
});

describe('only what the platform vouches for (issue 14)', () => {
  /** An Eventarc body whose publish time is Pub/Sub's, not derived from the entry. */
  const published = (entry: JsonObject, publishTime: string, messageId = '9812273641520031') => ({
    message: { ...pubsubMessage(entry, messageId), publishTime },
    subscription: 'projects/acme-sec/subscriptions/eventarc-integrity-sub',
  });
  const at = (timestamp: string) => failedLateBoot({ timestamp });

  it.each([
    ['exactly 60 s after the publish time', '2026-11-01T10:01:00.183Z', null],
    ['60.001 s after it', '2026-11-01T10:01:00.184Z', 'timestamp_in_future'],
    ['in 2099', '2099-01-01T00:00:00.000000001Z', 'timestamp_in_future'],
    ['exactly 24 h before it', '2026-10-31T10:00:00.183Z', null],
    ['24 h and 1 ms before it', '2026-10-31T10:00:00.182Z', 'timestamp_skew'],
  ])('an entry logged %s: %s', (_what, timestamp, code) => {
    const o = parseEnvelope(published(at(timestamp), '2026-11-01T10:00:00.183Z'));
    if (code === null) expect(ok(o).entry.timestamp).toBe(timestamp);
    else expect(rejected(o)).toMatchObject({ code, field: 'timestamp' });
  });

  // RFC 3339 section 5.6 (https://www.rfc-editor.org/rfc/rfc3339#section-5.6) with protobuf
  // Timestamp's range and no leap second (https://protobuf.dev/reference/protobuf/google.protobuf/#timestamp).
  it.each([
    ['month 13', '2099-13-01T00:00:00Z'],
    ['month 00', '2026-00-10T00:00:00Z'],
    ['an offset of +24:00', '2026-11-01T10:00:00.183+24:00'],
    ['an offset of +99:00', '2026-11-01T10:00:00.183+99:00'],
    ['an offset of -05:60', '2026-11-01T10:00:00.183-05:60'],
    ['February 30', '2026-02-30T10:00:00Z'],
    ['February 29 of a common year', '2026-02-29T10:00:00Z'],
    ['February 29 of 1900 (not a leap year)', '1900-02-29T10:00:00Z'],
    ['April 31', '2026-04-31T10:00:00Z'],
    ['day 00', '2026-11-00T10:00:00Z'],
    ['hour 24', '2026-11-01T24:00:00Z'],
    ['minute 60', '2026-11-01T10:60:00Z'],
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['ten fraction digits', '2026-11-01T10:00:00.1234567890Z'],
    ['a lowercase z', '2026-11-01T10:00:00z'],
    ['no offset', '2026-11-01T10:00:00'],
  ])('a timestamp with %s is rejected as invalid_timestamp, in the entry and as the publish time', (_what, timestamp) => {
    const r = rejected(parseEnvelope(edited(failedLateBoot(), (e) => (e.timestamp = timestamp))));
    expect(r).toMatchObject({ code: 'invalid_timestamp', field: 'timestamp' });
    expect(r.message).toBe(`timestamp is ${JSON.stringify(timestamp)}; expected ${TIMESTAMP_EXPECTED}`);
    expect(rejected(parseEnvelope(published(at('2026-11-01T10:00:00.183Z'), timestamp)))).toMatchObject({
      code: 'invalid_timestamp',
      field: 'message.publishTime',
    });
  });

  it.each([
    ['February 29 of a leap year', '2028-02-29T10:00:00Z', Date.UTC(2028, 1, 29, 10)],
    ['February 29 of 2000', '2000-02-29T23:59:59Z', Date.UTC(2000, 1, 29, 23, 59, 59)],
    ['an offset of +23:59', '2026-11-02T09:59:00+23:59', Date.UTC(2026, 10, 1, 10)],
    ['an offset of -05:30', '2026-11-01T04:30:00.183-05:30', Date.UTC(2026, 10, 1, 10, 0, 0, 183)],
    ['nine fraction digits', '2026-11-01T10:00:00.183456789Z', Date.UTC(2026, 10, 1, 10, 0, 0, 183)],
    ['year 0001', '0001-01-01T00:00:00Z', -62_135_596_800_000],
    ['year 9999', '9999-12-31T23:59:59.999999999Z', 253_402_300_799_999],
  ])('%s is a real instant', (_what, timestamp, ms) => {
    expect(epochMs(timestamp)).toBe(ms);
  });

  it.each([
    ['the same instant in two offsets', '2026-11-01T10:00:00Z', '2026-11-01T11:00:00+01:00', 0],
    ['a nanosecond apart', '2026-11-01T10:00:00.183000001Z', '2026-11-01T10:00:00.183Z', 1],
    ['later in the text, earlier in time', '2026-11-01T10:30:00+02:00', '2026-11-01T09:00:00Z', -1],
    ['a shorter fraction', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00.5Z', -1],
    ['no instant before an instant', '2099-13-01T00:00:00Z', '1970-01-01T00:00:00Z', -1],
  ])('timestamps ordered by instant: %s', (_what, a, b, sign) => {
    expect(Math.sign(compareTimestamps(a, b))).toBe(sign);
    expect(Math.sign(compareTimestamps(b, a))).toBe(-sign || 0);
  });

  it('a publish-time check keeps the nanoseconds: 60 s and 1 ns after the publish time is in the future', () => {
    const publishTime = '2026-11-01T10:00:00.183Z';
    expect(ok(parseEnvelope(published(at('2026-11-01T10:01:00.183000000Z'), publishTime))).entry.timestamp).toBe(
      '2026-11-01T10:01:00.183000000Z',
    );
    expect(rejected(parseEnvelope(published(at('2026-11-01T10:01:00.183000001Z'), publishTime))).code).toBe('timestamp_in_future');
  });

  it.each([
    ['60 s ahead of the clock', '2026-11-01T10:01:00.183Z', null],
    ['60 s and 1 ns ahead', '2026-11-01T10:01:00.183000001+00:00', 'timestamp_in_future'],
    ['in 2099', '2099-01-01T00:00:00Z', 'timestamp_in_future'],
    ['no instant', '2099-13-01T00:00:00Z', 'invalid_timestamp'],
  ])('futureProblem (the function, decide and replay) on an entry %s', (_what, timestamp, code) => {
    expect(futureProblem(timestamp, new Date('2026-11-01T10:00:00.183Z'))?.code ?? null).toBe(code);
  });

  it('the publish-time check names both times; a LogEntry without an envelope has no publish time to check', () => {
    expect(rejected(parseEnvelope(published(at('2099-01-01T00:00:00Z'), '2026-11-01T10:00:00.183Z'))).message).toBe(
      'timestamp 2099-01-01T00:00:00Z is after the message was published (2026-11-01T10:00:00.183Z)',
    );
    expect(ok(parseEnvelope(at('2099-01-01T00:00:00Z'))).entry.timestamp).toBe('2099-01-01T00:00:00Z');
  });

  it('an entry whose logName is in another project than the VM is project_mismatch', () => {
    const forged = edited(
      failedLateBoot(),
      (e) => (e.logName = 'projects/attacker-proj/logs/compute.googleapis.com%2Fshielded_vm_integrity'),
    );
    expect(rejected(parseEnvelope(eventarcBody(forged)))).toEqual({
      code: 'project_mismatch',
      message: `logName is in "projects/attacker-proj", but resource.labels.project_id is "${LINUX_VM.project}": a VM's integrity log is in its own project`,
      field: 'logName',
    });
    const org = edited(
      failedLateBoot(),
      (e) => (e.logName = 'organizations/123456789/logs/compute.googleapis.com%2Fshielded_vm_integrity'),
    );
    expect(rejected(parseEnvelope(org)).code).toBe('project_mismatch');
  });

  it.each([
    // No integrity log name is that long: at the cap it is refused as another log, over it unread.
    ['logName', 512, 'wrong_log_name', (e: JsonObject, n: number) => (e['logName'] = `projects/${LINUX_VM.project}/logs/`.padEnd(n, 'x'))],
    ['insertId', 256, null, (e: JsonObject, n: number) => (e['insertId'] = 'i'.repeat(n))],
  ])('%s: %i characters are read, one more is field_too_long', (field, max, atMax, set) => {
    const o = parseEnvelope(edited(failedLateBoot(), (e) => set(e, max)));
    expect(o.ok ? null : o.rejection.code).toBe(atMax);
    const over = rejected(parseEnvelope(edited(failedLateBoot(), (e) => set(e, max + 1))));
    expect(over).toEqual({ code: 'field_too_long', message: `${field} is ${max + 1} characters; at most ${max}`, field });
  });

  it('a message id over 128 characters is field_too_long, and the rejection keeps only 128 of it', () => {
    expect(ok(parseEnvelope(eventarcBody(failedLateBoot(), '7'.repeat(128)))).delivery?.messageId).toHaveLength(128);
    const o = parseEnvelope(eventarcBody(failedLateBoot(), '7'.repeat(5000)));
    expect(rejected(o)).toEqual({
      code: 'field_too_long',
      message: 'message.messageId is 5000 characters; at most 128',
      field: 'message.messageId',
    });
    expect(o.ok || o.context.messageId).toBe('7'.repeat(128));
  });
});
