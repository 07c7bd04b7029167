import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { decodeAnswerContent } from '@warden/contracts';
import { ScenarioError } from '@warden/scripted-model';
import { startScriptedModel } from '@warden/scripted-model/testing';

describe('startScriptedModel', () => {
  it('serves the bundled scenarios plus inline ones on a free port', async () => {
    const model = await startScriptedModel({
      scenarios: [
        {
          id: 'inline-hello',
          description: 'd',
          steps: [{ kind: 'answer', content: 'hello', confidence: 0.75, reasoning: 'r' }],
        },
      ],
    });
    try {
      const client = new OpenAI({ baseURL: model.baseURL, apiKey: 'scripted', maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'scripted:inline-hello',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(decodeAnswerContent(completion.choices[0]!.message.content)).toMatchObject({
        ok: true,
        envelope: { answer: 'hello', confidence: 0.75 },
      });
      expect((await client.models.retrieve('scripted:refund-happy')).id).toBe('scripted:refund-happy');
    } finally {
      await model.close();
    }
    expect(model.server.state).toBe('closed');
  });

  it('refuses an inline scenario whose id repeats a bundled one', async () => {
    await expect(
      startScriptedModel({
        scenarios: [
          {
            id: 'refund-happy',
            description: 'd',
            steps: [{ kind: 'answer', content: 'x', confidence: 1, reasoning: 'r' }],
          },
        ],
      }),
    ).rejects.toThrow(ScenarioError);
  });
});
