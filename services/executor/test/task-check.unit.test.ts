import { canonicalHash } from '@warden/contracts';
import { demoTools } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import { checkTaskScope, type Approval, type HeldTask } from '../src/index.js';

const spec = (name: string) => demoTools.get(name);

const task: HeldTask = {
  taskId: 't1',
  tenantId: 'tenant-a',
  ended: false,
  scope: {
    tools: ['customers.delete', 'http.get', 'files.read'],
    resources: { collections: ['customers'], paths: ['reports/**'], hosts: ['api.example.com'], recipients: [] },
  },
};

function approval(tool: string, args: Record<string, unknown>, over: Partial<Approval> = {}): Approval {
  return {
    kind: 'ActionApproved',
    eventId: 'e1',
    taskId: 't1',
    tenantId: 'tenant-a',
    actionId: 'a1',
    tool,
    args: args as never,
    argsHash: canonicalHash(args),
    policyVersion: 'default.v1',
    ...over,
  };
}

describe("the executor's check of an approval against its own record of the task", () => {
  it('passes a running task whose scope holds the tool and every resource', () => {
    const a = approval('customers.delete', { collection: 'customers', ids: ['c-1'] });
    expect(checkTaskScope(a, task, spec('customers.delete'))).toEqual({ ok: true });
    const get = approval('http.get', { url: 'https://api.example.com/v1' });
    expect(checkTaskScope(get, task, spec('http.get'))).toEqual({ ok: true });
  });

  it.each([
    ['a task never submitted', undefined, approval('customers.delete', { ids: ['c-1'] }), 'task_unknown'],
    [
      'an ended task',
      { ...task, ended: true },
      approval('customers.delete', { collection: 'customers', ids: ['c-1'] }),
      'task_ended',
    ],
    [
      'a task only seen ending',
      { taskId: 't1', tenantId: 'tenant-a', ended: true },
      approval('customers.delete', { ids: ['c-1'] }),
      'task_ended',
    ],
    [
      "another tenant's approval",
      task,
      approval('customers.delete', { collection: 'customers', ids: ['c-1'] }, { tenantId: 'tenant-b' }),
      'tenant_mismatch',
    ],
    ['a tool outside scope.tools', task, approval('email.send', { to: ['x@example.com'] }), 'tool_out_of_scope'],
    [
      'a collection outside the scope',
      task,
      approval('customers.delete', { collection: 'admins', ids: ['c-1'] }),
      'resource_out_of_scope',
    ],
    [
      'http.get pointed at the schema registry',
      task,
      approval('http.get', { url: 'http://127.0.0.1:8081/apis/ccompat/v7/subjects' }),
      'resource_out_of_scope',
    ],
    [
      'a path climbing out',
      task,
      approval('files.read', { path: 'reports/../../etc/passwd' }),
      'resource_out_of_scope',
    ],
  ])('refuses %s', (_what, held, a, code) => {
    const result = checkTaskScope(a, held, spec(a.tool!));
    expect(result).toMatchObject({ ok: false, code });
  });
});
