import { describe, expect, it } from 'vitest';
import {
  callbackUrlProblem,
  checkApprovalRequest,
  checkOutcomeReport,
  isGroupId,
  WORKFLOW_EXECUTIONS_ORIGIN,
  type ApprovalRequest,
} from '../../core/approvals.js';
import {
  authorize,
  classifyCallbackStatus,
  isExpired,
  newMember,
  retryDelayMs,
  summarize,
  type ApprovalGroup,
  type ApproverPolicy,
} from '../../core/approval-groups.js';
import { loadSlackAppConfig, LOCAL_WORKFLOW_SERVICE_ACCOUNT } from '../../core/config.js';

const EXECUTION =
  'projects/demo-bootwarden/locations/us-central1/workflows/integrity-response/executions/9d4e5b1c-7a1f-4c2e-8f0a-3b6c2d1e0f9a';
const FP = 'a'.repeat(64);
const M = (pcrNum: string, value: string) => ({ pcrNum, hashAlgo: 'SHA256' as const, value });

const REQUEST: ApprovalRequest = {
  version: 1,
  eventKey: 'b'.repeat(64),
  execution: EXECUTION,
  callbackUrl: `http://127.0.0.1:4711/v1/${EXECUTION}/callbacks/cb_1`,
  projectNumber: '482915736104',
  instance: { id: '4527193840196655321', project: 'demo-bootwarden', zone: 'us-central1-a' },
  instanceName: 'web-001',
  fingerprint: FP,
  bootCounter: '7',
  eventTimestamp: '2026-12-02T09:10:07.123456789Z',
  diff: { changed: [{ pcrNum: 'PCR_4', from: M('PCR_4', 'AAAA'), to: M('PCR_4', 'BBBB') }], added: [M('PCR_14', 'CCCC')], removed: [] },
  held: false,
  afterRelearn: false,
  requestedAt: '2026-12-02T09:10:09.5Z',
  expiresAt: '2026-12-03T09:10:09.5Z',
};

describe('checkApprovalRequest', () => {
  it('accepts what the workflow sends, and a null instance name, boot counter and diff', () => {
    expect(checkApprovalRequest(REQUEST)).toEqual({ ok: true, value: REQUEST });
    expect(checkApprovalRequest({ ...REQUEST, instanceName: null, bootCounter: null, diff: null })).toEqual({
      ok: true,
      value: { ...REQUEST, instanceName: null, bootCounter: null, diff: null },
    });
  });

  it('projectNumber: absent (a workflow that does not send it) is null', () => {
    const without: Record<string, unknown> = { ...REQUEST };
    delete without['projectNumber'];
    expect(checkApprovalRequest(without)).toEqual({ ok: true, value: { ...REQUEST, projectNumber: null } });
  });

  // held: the blast-radius guard; afterRelearn: relearn_mismatch. Absent is false (a request of a workflow deployed before them).
  it.each(['held', 'afterRelearn'] as const)('%s: true or false; absent is false', (flag) => {
    const without: Record<string, unknown> = { ...REQUEST };
    delete without[flag];
    expect(checkApprovalRequest(without)).toEqual({ ok: true, value: { ...REQUEST, [flag]: false } });
    expect(checkApprovalRequest({ ...REQUEST, [flag]: true })).toEqual({ ok: true, value: { ...REQUEST, [flag]: true } });
    for (const bad of ['true', 1, 0, null])
      expect(checkApprovalRequest({ ...REQUEST, [flag]: bad })).toEqual({ ok: false, reason: `${flag} must be true or false` });
  });

  it.each([
    [[], 'the body must be a JSON object'],
    [{ ...REQUEST, version: 2 }, 'version must be 1'],
    [{ ...REQUEST, eventKey: 'x'.repeat(129) }, 'eventKey must be an event key (letters, digits, _ . : -, at most 128)'],
    [
      { ...REQUEST, execution: 'projects/p/../executions/e' },
      'execution must be a Workflows execution name (projects/P/locations/L/workflows/W/executions/E)',
    ],
    [{ ...REQUEST, callbackUrl: `ftp://127.0.0.1/x` }, 'callbackUrl must be an http(s) URL of at most 1000 characters'],
    [{ ...REQUEST, projectNumber: 482915736104 }, 'projectNumber must be a project number (decimal digits, a string)'],
    [{ ...REQUEST, projectNumber: 'demo-bootwarden' }, 'projectNumber must be a project number (decimal digits, a string)'],
    [{ ...REQUEST, projectNumber: '1'.repeat(20) }, 'projectNumber must be a project number (decimal digits, a string)'],
    [
      { ...REQUEST, instance: { ...REQUEST.instance, id: 4527193840 } },
      'instance.id must be a decimal instance id of up to 20 digits (a string)',
    ],
    [
      { ...REQUEST, instance: { ...REQUEST.instance, id: '123456789012345678901' } },
      'instance.id must be a decimal instance id of up to 20 digits (a string)',
    ],
    [{ ...REQUEST, instance: null }, 'instance must be a JSON object'],
    [{ ...REQUEST, instanceName: 'Web 1' }, 'instanceName must be a Compute instance name'],
    [{ ...REQUEST, fingerprint: FP.toUpperCase() }, 'fingerprint must be a 64-hex-digit fingerprint'],
    [{ ...REQUEST, bootCounter: 7 }, 'bootCounter must be a decimal boot counter (a string)'],
    [{ ...REQUEST, eventTimestamp: '2026-12-02 09:10:07' }, 'eventTimestamp must be an RFC 3339 timestamp'],
    [
      { ...REQUEST, diff: { changed: [], added: [{ pcrNum: 'PCR_4', hashAlgo: 'MD5', value: 'AAAA' }], removed: [] } },
      'diff.added[0].hashAlgo must be SHA1 or SHA256',
    ],
    [
      { ...REQUEST, diff: { changed: [], added: Array.from({ length: 25 }, () => M('PCR_1', 'AAAA')), removed: [] } },
      'diff.added has 25 entries; at most 24',
    ],
    [{ ...REQUEST, diff: { changed: {}, added: [], removed: [] } }, 'diff.changed must be a list'],
    [{ ...REQUEST, expiresAt: null }, 'expiresAt must be an RFC 3339 timestamp'],
  ])('%#: %s', (body, reason) => {
    expect(checkApprovalRequest(body)).toEqual({ ok: false, reason });
  });
});

describe('checkOutcomeReport', () => {
  const report = {
    version: 1,
    eventKey: REQUEST.eventKey,
    execution: EXECUTION,
    instance: REQUEST.instance,
    fingerprint: FP,
    groupId: `grp_${'0'.repeat(32)}`,
    outcome: 'promoted_and_started',
    intendedAction: null,
    detail: 'approved',
    at: '2026-12-02T09:20:00Z',
  };

  it('accepts a report and cuts a long detail to 2,000 characters', () => {
    expect(checkOutcomeReport(report)).toEqual({ ok: true, value: report });
    const long = checkOutcomeReport({ ...report, detail: 'x'.repeat(5000), fingerprint: null, groupId: null });
    expect(long.ok && long.value.detail.length).toBe(2000);
  });

  it.each([
    [{ ...report, outcome: 'deleted_everything' }, /^outcome must be one of relearned, relearn_skipped, relearn_refused, stopped, /],
    [{ ...report, groupId: 'group-1' }, /^groupId must be a group id from an approval answer$/],
    [{ ...report, detail: 42 }, /^detail must be a string$/],
    [{ ...report, intendedAction: 'Stop Now' }, /^intendedAction must be an action name$/],
  ])('%#: refused', (body, reason) => {
    const r = checkOutcomeReport(body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe('callbackUrlProblem', () => {
  // The callback endpoint's resource name: projects/*/locations/*/workflows/*/executions/*/callbacks/*
  // (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions.callbacks);
  // whether the project segment is the id or the number is not documented, so both are accepted.
  const NUMBER = '482915736104';
  const BY_NUMBER = EXECUTION.replace('projects/demo-bootwarden/', `projects/${NUMBER}/`);
  const WITH_NUMBER = { execution: EXECUTION, projectNumber: NUMBER };
  const ENDPOINT = (request: { projectNumber: string | null }): string =>
    `callbackUrl must be a callback endpoint of the execution (/v1/${EXECUTION}/callbacks/<id>${
      request.projectNumber === null ? '' : ` or /v1/${BY_NUMBER}/callbacks/<id>`
    })`;
  const NO_NUMBER = { execution: EXECUTION, projectNumber: null };
  it.each([
    ['the project id', `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION}/callbacks/4a7c_9`, NO_NUMBER, 'google', null],
    ['the project id, a number sent', `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION}/callbacks/4a7c_9`, WITH_NUMBER, 'google', null],
    ['the project number', `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${BY_NUMBER}/callbacks/4a7c_9`, WITH_NUMBER, 'google', null],
    [
      'the project number, none sent',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${BY_NUMBER}/callbacks/4a7c_9`,
      NO_NUMBER,
      'google',
      ENDPOINT(NO_NUMBER),
    ],
    [
      'another project',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION.replace('demo-bootwarden', 'victim-prod')}/callbacks/x`,
      WITH_NUMBER,
      'google',
      ENDPOINT(WITH_NUMBER),
    ],
    [
      'another project number',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${BY_NUMBER.replace(NUMBER, '731046482915')}/callbacks/x`,
      WITH_NUMBER,
      'google',
      ENDPOINT(WITH_NUMBER),
    ],
    [
      'another execution',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION.replace('9d4e', 'ffff')}/callbacks/x`,
      NO_NUMBER,
      'google',
      ENDPOINT(NO_NUMBER),
    ],
    [
      'another execution, by number',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${BY_NUMBER.replace('9d4e', 'ffff')}/callbacks/x`,
      WITH_NUMBER,
      'google',
      ENDPOINT(WITH_NUMBER),
    ],
    [
      'another location, by number',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${BY_NUMBER.replace('us-central1', 'europe-west1')}/callbacks/x`,
      WITH_NUMBER,
      'google',
      ENDPOINT(WITH_NUMBER),
    ],
    [
      'another workflow, by number',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${BY_NUMBER.replace('integrity-response', 'attacker-workflow')}/callbacks/x`,
      WITH_NUMBER,
      'google',
      ENDPOINT(WITH_NUMBER),
    ],
    [
      'the number in the location segment',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/projects/demo-bootwarden/locations/${NUMBER}/workflows/integrity-response/executions/9d4e/callbacks/x`,
      WITH_NUMBER,
      'google',
      ENDPOINT(WITH_NUMBER),
    ],
    ['no callback id', `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION}/callbacks/`, NO_NUMBER, 'google', ENDPOINT(NO_NUMBER)],
    ['dot segments', `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION}/callbacks/x/../../y`, NO_NUMBER, 'google', ENDPOINT(NO_NUMBER)],
    [
      'plain http',
      `http://workflowexecutions.googleapis.com/v1/${EXECUTION}/callbacks/x`,
      NO_NUMBER,
      'google',
      `callbackUrl must be on ${WORKFLOW_EXECUTIONS_ORIGIN}`,
    ],
    [
      'a look-alike host',
      `https://workflowexecutions.googleapis.com.evil.example/v1/${EXECUTION}/callbacks/x`,
      NO_NUMBER,
      'google',
      `callbackUrl must be on ${WORKFLOW_EXECUTIONS_ORIGIN}`,
    ],
    [
      'credentials',
      `https://user:pw@workflowexecutions.googleapis.com/v1/${EXECUTION}/callbacks/x`,
      NO_NUMBER,
      'google',
      'callbackUrl must not carry credentials, a query or a fragment',
    ],
    [
      'a query',
      `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${EXECUTION}/callbacks/x?redirect=1`,
      NO_NUMBER,
      'google',
      'callbackUrl must not carry credentials, a query or a fragment',
    ],
    ['loopback', 'http://127.0.0.1:8080/anything', NO_NUMBER, 'loopback', null],
    ['loopback v6', 'http://[::1]:8080/cb', NO_NUMBER, 'loopback', null],
    ['localhost', 'http://localhost:8080/cb', NO_NUMBER, 'loopback', null],
    [
      'the metadata server',
      'http://169.254.169.254/computeMetadata/v1/',
      NO_NUMBER,
      'loopback',
      'callbackUrl must be on a loopback address (local tokens are accepted)',
    ],
    [
      'a loopback look-alike',
      'http://127.0.0.1.nip.io/cb',
      NO_NUMBER,
      'loopback',
      'callbackUrl must be on a loopback address (local tokens are accepted)',
    ],
    ['not a URL', 'not a url', NO_NUMBER, 'loopback', 'callbackUrl is not a URL'],
  ] as const)('%s: %s', (_what, url, request, target, problem) => {
    expect(callbackUrlProblem(url, request, target)).toBe(problem);
    expect(callbackUrlProblem(url, request, target, 'demo-bootwarden')).toBe(problem);
  });

  it.each([
    ['by its id', (e: string) => e],
    ['by its number', (e: string) => e.replace('projects/victim-prod/', `projects/${NUMBER}/`)],
  ])("an execution of another project than the app's, its callback URL naming it %s: refused", (_what, path) => {
    const execution = EXECUTION.replace('demo-bootwarden', 'victim-prod');
    expect(
      callbackUrlProblem(
        `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${path(execution)}/callbacks/x`,
        { execution, projectNumber: NUMBER },
        'google',
        'demo-bootwarden',
      ),
    ).toBe("execution must be in the app's project demo-bootwarden (GOOGLE_CLOUD_PROJECT), not victim-prod");
    expect(
      callbackUrlProblem(`${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${path(execution)}/callbacks/x`, { execution, projectNumber: NUMBER }, 'google'),
    ).toBeNull();
  });
});

describe('authorize', () => {
  const policy: ApproverPolicy = { users: [{ teamId: 'T1', userId: 'U1' }], userGroups: ['S1'] };
  const members = (g: string): Promise<string[]> => Promise.resolve(g === 'S1' ? ['U2'] : []);
  it.each([
    [{ teamId: 'T1', userId: 'U1' }, 'T1', { ok: true, via: 'approver T1:U1' }],
    [{ teamId: 'T2', userId: 'U1' }, 'T1', { ok: false, reason: 'T2:U1 is not a configured approver' }],
    [{ teamId: 'T1', userId: 'U2' }, 'T1', { ok: true, via: 'member of user group S1' }],
    [{ teamId: 'T2', userId: 'U2' }, 'T1', { ok: false, reason: 'T2:U2 is not a configured approver' }],
    [{ teamId: 'T1', userId: 'U2' }, null, { ok: false, reason: 'T1:U2 is not a configured approver' }],
    [{ teamId: 'T1', userId: 'U3' }, 'T1', { ok: false, reason: 'T1:U3 is not a configured approver' }],
  ])('%o in workspace %s', async (actor, team, expected) => {
    expect(await authorize(policy, actor, team, members)).toEqual(expected);
  });

  it('any one of several approvers may decide; user groups are asked only for users of the workspace', async () => {
    const asked: string[] = [];
    const several: ApproverPolicy = {
      users: [
        { teamId: 'T1', userId: 'U1' },
        { teamId: 'T1', userId: 'U9' },
      ],
      userGroups: ['S1'],
    };
    const recording = (g: string): Promise<string[]> => {
      asked.push(g);
      return members(g);
    };
    expect(await authorize(several, { teamId: 'T1', userId: 'U9' }, 'T1', recording)).toEqual({ ok: true, via: 'approver T1:U9' });
    expect(await authorize(several, { teamId: 'T2', userId: 'U2' }, 'T1', recording)).toMatchObject({ ok: false });
    expect(asked).toEqual([]);
  });
});

describe('callback delivery', () => {
  it.each([
    [200, '', { kind: 'delivered' }],
    [204, '', { kind: 'delivered' }],
    [404, '{"error":"NOT_FOUND"}', { kind: 'gone', detail: 'HTTP 404: {"error":"NOT_FOUND"}' }],
    [403, '', { kind: 'retry', detail: 'HTTP 403' }],
    [429, 'slow down', { kind: 'retry', detail: 'HTTP 429: slow down' }],
    [503, '', { kind: 'retry', detail: 'HTTP 503' }],
    [302, '', { kind: 'retry', detail: 'HTTP 302' }],
    [300, '', { kind: 'retry', detail: 'HTTP 300' }],
    [199, '', { kind: 'retry', detail: 'HTTP 199' }],
    [500, 'x'.repeat(400), { kind: 'retry', detail: `HTTP 500: ${'x'.repeat(300)}` }],
  ])('HTTP %i is %o', (status, body, expected) => {
    expect(classifyCallbackStatus(status, body)).toEqual(expected);
  });

  it.each([
    [0, 1000],
    [1, 1000],
    [2, 2000],
    [4, 8000],
    [9, 256_000],
    [10, 300_000],
    [60, 300_000],
  ])('after %i attempts the next waits %i ms', (attempts, ms) => {
    expect(retryDelayMs(attempts)).toBe(ms);
  });
});

describe('summarize', () => {
  const group: ApprovalGroup = { id: `grp_${'1'.repeat(32)}`, fingerprint: FP, createdAt: '2026-12-02T09:00:00Z', message: null };
  const member = (n: number, at: string, expires: string) =>
    newMember(group.id, { ...REQUEST, execution: `${EXECUTION}${n}`, instanceName: `web-${n}`, eventTimestamp: at, expiresAt: expires });

  it('counts VMs and PCRs, orders by event time (nanoseconds compare as instants), takes the latest expiry', () => {
    const members = [
      member(2, '2026-12-02T09:10:07.5Z', '2026-12-03T09:00:00Z'),
      member(1, '2026-12-02T09:10:07.123456789Z', '2026-12-03T10:00:00+02:00'),
      member(3, '2026-12-02T10:00:00Z', '2026-12-03T08:30:00Z'),
    ];
    const s = summarize(group, members, null, 2);
    expect([s.vmCount, s.heldCount]).toEqual([3, 0]);
    expect(summarize(group, [members[0]!, { ...members[1]!, held: true }, { ...members[2]!, held: true }], null).heldCount).toBe(2);
    expect(s.sample.map((m) => m.instanceName)).toEqual(['web-1', 'web-2']);
    expect(s.pcrs).toEqual([
      { pcrNum: 'PCR_4', how: 'changed', vms: 3 },
      { pcrNum: 'PCR_14', how: 'added', vms: 3 },
    ]);
    expect([s.firstSeen, s.lastSeen, s.expiresAt]).toEqual([
      '2026-12-02T09:10:07.123456789Z',
      '2026-12-02T10:00:00Z',
      '2026-12-03T09:00:00Z',
    ]);
    expect(isExpired(s, new Date('2026-12-03T08:59:59Z'))).toBe(false);
    expect(isExpired(s, new Date('2026-12-03T09:00:00Z'))).toBe(true);
  });

  it('orders PCRs by number then how, members of one instant by execution, votes by time; counts outcomes; keeps the first of equal expiries', () => {
    const m = (n: number, diff: ApprovalRequest['diff'], at = '2026-12-02T09:10:07Z', expires = '2026-12-03T09:00:00Z') =>
      newMember(group.id, {
        ...REQUEST,
        execution: `${EXECUTION}${n}`,
        instanceName: `web-${n}`,
        eventTimestamp: at,
        expiresAt: expires,
        diff,
      });
    const a = m(2, {
      changed: [{ pcrNum: 'PCR_14', from: M('PCR_14', 'AAAA'), to: M('PCR_14', 'BBBB') }],
      added: [M('PCR_7', 'CCCC')],
      removed: [],
    });
    const b = {
      ...m(1, { changed: [], added: [M('PCR_14', 'DDDD')], removed: [] }, '2026-12-02T09:10:07Z', '2026-12-03T10:00:00+01:00'),
      outcome: { kind: 'expired' as const, detail: 'x', at: 'y' },
    };
    const votes = [
      { groupId: group.id, approver: { teamId: 'T1', userId: 'U2', name: 'bob' }, at: '2026-12-02T09:30:00Z' },
      { groupId: group.id, approver: { teamId: 'T1', userId: 'U1', name: 'alice' }, at: '2026-12-02T09:20:00Z' },
    ];
    const s = summarize(group, [a, b], null, 10, votes);
    expect(s.pcrs).toEqual([
      { pcrNum: 'PCR_7', how: 'added', vms: 1 },
      { pcrNum: 'PCR_14', how: 'added', vms: 1 },
      { pcrNum: 'PCR_14', how: 'changed', vms: 1 },
    ]);
    expect(s.sample.map((x) => x.instanceName)).toEqual(['web-1', 'web-2']);
    expect(s.outcomes).toEqual({ expired: 1 });
    expect(s.votes.map((v) => v.approver.name)).toEqual(['alice', 'bob']);
    // Both expire at the same instant: the first member's spelling is kept.
    expect(s.expiresAt).toBe('2026-12-03T10:00:00+01:00');
  });

  it('an empty group never expires and shows the creation time', () => {
    const s = summarize(group, [], null);
    expect([s.vmCount, s.firstSeen, s.expiresAt]).toEqual([0, group.createdAt, group.createdAt]);
    expect(isExpired(s, new Date('2030-01-01T00:00:00Z'))).toBe(false);
  });

  it('group ids are grp_ and 32 hex digits, nothing else', () => {
    expect([`grp_${'a'.repeat(32)}`, `grp_${'a'.repeat(31)}`, `grp_${'A'.repeat(32)}`, '{"groupId":"x"}', 7].map(isGroupId)).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('loadSlackAppConfig', () => {
  const base = {
    GOOGLE_CLOUD_PROJECT: 'demo-bootwarden',
    SLACK_SIGNING_SECRET: 's3cr3t',
    SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
    BOOTWARDEN_SLACK_CHANNEL: 'C0APPROVALS',
    BOOTWARDEN_APPROVERS: 'T0TEAM:U0ALICE, T0TEAM:W0BOB',
    BOOTWARDEN_SLACK_APP_URL: 'https://bootwarden-slack-abc123-uc.a.run.app/',
    BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT: 'bootwarden-workflow@demo-bootwarden.iam.gserviceaccount.com',
  };

  it('reads the deployed configuration', () => {
    expect(loadSlackAppConfig(base)).toMatchObject({
      approvers: {
        users: [
          { teamId: 'T0TEAM', userId: 'U0ALICE' },
          { teamId: 'T0TEAM', userId: 'W0BOB' },
        ],
        userGroups: [],
      },
      appUrl: 'https://bootwarden-slack-abc123-uc.a.run.app',
      slackApiUrl: 'https://slack.com/api/',
      localTokens: false,
      requiredApprovals: 1,
      host: '0.0.0.0',
      port: 3000,
      collectionPrefix: 'bootwarden_',
      workflowServiceAccountId: null,
    });
    expect(loadSlackAppConfig({ ...base, BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID: '113774264463038321964' }).workflowServiceAccountId).toBe(
      '113774264463038321964',
    );
  });

  it('history reads executions of the workflow named, when its region is given', () => {
    expect(loadSlackAppConfig(base).executions).toBeNull();
    expect(loadSlackAppConfig({ ...base, BOOTWARDEN_WORKFLOW_LOCATION: 'europe-west1' }).executions).toEqual({
      location: 'europe-west1',
      workflow: 'integrity-response',
      apiUrl: null,
    });
    expect(() => loadSlackAppConfig({ ...base, BOOTWARDEN_WORKFLOW_LOCATION: 'Europe' })).toThrow(
      'BOOTWARDEN_WORKFLOW_LOCATION must be a region like us-central1, got "Europe"',
    );
  });

  it('local tokens default the URL, the service account and the host to the loopback ones', () => {
    const c = loadSlackAppConfig({
      ...base,
      BOOTWARDEN_SLACK_APP_URL: '',
      BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT: '',
      BOOTWARDEN_LOCAL_TOKENS: '1',
      PORT: '3999',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
    });
    expect([c.appUrl, c.workflowServiceAccount, c.host, c.slackApiUrl]).toEqual([
      'http://127.0.0.1:3999',
      LOCAL_WORKFLOW_SERVICE_ACCOUNT,
      '127.0.0.1',
      'http://127.0.0.1:9/api/',
    ]);
  });

  it.each([
    [{ GOOGLE_CLOUD_PROJECT: '' }, 'GOOGLE_CLOUD_PROJECT is not set: give the project of the Firestore database'],
    [
      { SLACK_SIGNING_SECRET: ' ' },
      "SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information page (Secret Manager in the cloud)",
    ],
    [{ SLACK_BOT_TOKEN: 'xoxp-user-token' }, 'SLACK_BOT_TOKEN must be a bot token (xoxb-…)'],
    [
      { BOOTWARDEN_SLACK_CHANNEL: 'approvals' },
      'BOOTWARDEN_SLACK_CHANNEL must be a channel id like C024BE91L (not a #name), got "approvals"',
    ],
    [
      { BOOTWARDEN_APPROVERS: 'U0ALICE' },
      'BOOTWARDEN_APPROVERS has "U0ALICE", which is not a TEAM_ID:USER_ID pair like T024BE7LD:U024BE7LH',
    ],
    [
      { BOOTWARDEN_APPROVERS: 'T0TEAM:alice' },
      'BOOTWARDEN_APPROVERS has "T0TEAM:alice", which is not a TEAM_ID:USER_ID pair like T024BE7LD:U024BE7LH',
    ],
    [
      { BOOTWARDEN_APPROVERS: '', BOOTWARDEN_APPROVER_GROUPS: 'oncall' },
      'BOOTWARDEN_APPROVER_GROUPS has "oncall", which is not a user-group id like S0614TZR7',
    ],
    [{ BOOTWARDEN_APPROVERS: '' }, 'neither BOOTWARDEN_APPROVERS nor BOOTWARDEN_APPROVER_GROUPS is set: nobody could approve or reject'],
    [{ BOOTWARDEN_LOCAL_TOKENS: 'true' }, 'BOOTWARDEN_LOCAL_TOKENS must be 1 or unset, got "true"'],
    [
      { BOOTWARDEN_LOCAL_TOKENS: '1', K_SERVICE: 'bootwarden-slack' },
      'BOOTWARDEN_LOCAL_TOKENS=1 on Cloud Run (K_SERVICE is set): unsigned local tokens are never accepted in the cloud',
    ],
    [
      { BOOTWARDEN_LOCAL_TOKENS: '1', HOST: '0.0.0.0' },
      'BOOTWARDEN_LOCAL_TOKENS=1 needs a loopback listener: HOST must be 127.0.0.1, ::1 or localhost, got "0.0.0.0"',
    ],
    [{ PORT: '70000' }, 'PORT must be a port number, got "70000"'],
    [{ BOOTWARDEN_REQUIRED_APPROVALS: '3' }, 'BOOTWARDEN_REQUIRED_APPROVALS must be 1 or 2, got "3"'],
    [
      { BOOTWARDEN_REQUIRED_APPROVALS: '2', BOOTWARDEN_APPROVERS: 'T0TEAM:U0ALICE' },
      'BOOTWARDEN_REQUIRED_APPROVALS=2 needs at least two approvers in BOOTWARDEN_APPROVERS, or a user group',
    ],
    [
      { BOOTWARDEN_SLACK_APP_URL: '' },
      "BOOTWARDEN_SLACK_APP_URL is not set: give the app's base URL (the audience of the workflow's OIDC tokens)",
    ],
    [{ BOOTWARDEN_SLACK_APP_URL: 'bootwarden.run.app' }, 'BOOTWARDEN_SLACK_APP_URL must be an http(s) URL, got "bootwarden.run.app"'],
    [
      { SLACK_API_URL: 'https://slack.com/api/?x=1' },
      'SLACK_API_URL must not have a query, fragment or user, got "https://slack.com/api/?x=1"',
    ],
    [
      { BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT: '' },
      "BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT is not set: give the e-mail of the workflow's service account",
    ],
    [
      { BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID: 'bootwarden-workflow@demo-bootwarden.iam.gserviceaccount.com' },
      'BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID must be the service account\'s unique id (21 digits, its uniqueId), got "bootwarden-workflow@demo-bootwarden.iam.gserviceaccount.com"',
    ],
    [
      { BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID: '11377426446303832196' },
      'BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID must be the service account\'s unique id (21 digits, its uniqueId), got "11377426446303832196"',
    ],
    [
      { BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT: 'scheduler' },
      'BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT must be a service-account e-mail, got "scheduler"',
    ],
  ])('%o: %s', (change, message) => {
    expect(() => loadSlackAppConfig({ ...base, ...change })).toThrow(message);
  });
});
