import type { EventOf } from '@warden/contracts';
import type { ActionProposal, AnswerProposal, Proposal } from './types.js';

/**
 * The proposal decide() judges, from an ActionProposed or AnswerProposed event: its data plus the envelope's task
 * and tenant. The reasoning text is left out: the guard never acts on it.
 */
export function proposalFromEvent(event: EventOf<'ActionProposed'> | EventOf<'AnswerProposed'>): Proposal {
  const base = {
    taskId: event.taskId,
    tenantId: event.tenantId,
    actionId: event.data.actionId,
    confidence: event.data.confidence,
    claims: event.data.claims,
  };
  if (event.type === 'ActionProposed') {
    const action: ActionProposal = {
      ...base,
      kind: 'action',
      tool: event.data.tool,
      args: event.data.args,
      argsHash: event.data.argsHash,
    };
    return action;
  }
  const answer: AnswerProposal = {
    ...base,
    kind: 'answer',
    answer: event.data.answer,
    ...(event.data.output === undefined ? {} : { output: event.data.output }),
  };
  return answer;
}
