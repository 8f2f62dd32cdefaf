/** The callback contract between the Slack app and the response workflow (core/approvals.ts). */
import { describe, expect, it } from 'vitest';
import { checkApprovalCallback } from '../../core/approvals.js';

const GROUP = 'group-0123456789abcdef';
const valid = { version: 1, groupId: GROUP, decision: 'approve', approver: { id: 'U1', name: 'Ana' }, decidedAt: '2026-11-29T10:00:00Z' };

describe('checkApprovalCallback', () => {
  it('accepts a decision for the group', () => {
    expect(checkApprovalCallback(valid, GROUP)).toEqual({ ok: true, callback: valid });
    expect(checkApprovalCallback({ ...valid, decision: 'reject', extra: 1 }, GROUP)).toMatchObject({
      ok: true,
      callback: { decision: 'reject' },
    });
  });

  it.each([
    ['a string', 'approve', /not a JSON object/],
    ['a list', [valid], /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['another version', { ...valid, version: 2 }, /version must be 1/],
    ['another group', { ...valid, groupId: 'group-other' }, /groupId must be group-0123456789abcdef/],
    ['an unknown decision', { ...valid, decision: 'maybe' }, /decision must be one of approve, reject/],
    ['no approver', { ...valid, approver: undefined }, /approver must be/],
    ['an empty approver id', { ...valid, approver: { id: '', name: 'x' } }, /approver must be/],
    ['an approver without a name', { ...valid, approver: { id: 'U1' } }, /approver must be/],
    ['no time', { ...valid, decidedAt: 5 }, /decidedAt/],
  ])('refuses %s, saying why', (_what, body, reason) => {
    const r = checkApprovalCallback(body, GROUP);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
