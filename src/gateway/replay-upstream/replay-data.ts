/**
 * What the replay upstream serves: for (prompt text, model), the recorded response and its real
 * token usage from a routing-matrix dataset (responses.jsonl.gz + matrix.jsonl).
 */
import type { RoutingMatrix } from '../../data/routing-matrix.js';
import { streamResponses } from '../../data/load.js';

export interface ChatMessage {
  readonly role: string;
  readonly content: unknown;
}

export interface ReplayAnswer {
  readonly id: string;
  readonly text: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** The text of a message's content (a string, or the text parts of a content array). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && (p as { type?: unknown }).type === 'text' ? String((p as { text?: unknown }).text ?? '') : ''))
      .join('');
  }
  return '';
}

export class ReplayData {
  private readonly byText = new Map<string, number>();
  private readonly responses = new Map<string, string>();

  private constructor(readonly matrix: RoutingMatrix) {
    matrix.cols.prompts.forEach((p, i) => {
      if (!this.byText.has(p.trim())) this.byText.set(p.trim(), i);
    });
  }

  static async load(matrix: RoutingMatrix): Promise<ReplayData> {
    const data = new ReplayData(matrix);
    if (!matrix.dir) return data;
    for await (const r of streamResponses(matrix.dir)) data.responses.set(`${r.id}\u0000${r.model}`, r.response);
    return data;
  }

  get models(): readonly string[] {
    return this.matrix.modelIds;
  }

  /** The recorded prompt a conversation stands for: all user turns joined by a blank line, else the last one. */
  findPrompt(messages: readonly ChatMessage[]): number | undefined {
    const users = messages.filter((m) => m.role === 'user').map((m) => contentText(m.content).trim());
    return this.byText.get(users.join('\n\n')) ?? this.byText.get(users[users.length - 1] ?? '');
  }

  answer(row: number, model: string): ReplayAnswer | undefined {
    const m = this.matrix.modelIndex(model);
    if (m === undefined) return undefined;
    const M = this.matrix.modelCount;
    const score = this.matrix.cols.scores[row * M + m] as number;
    if (Number.isNaN(score)) return undefined;
    const id = this.matrix.cols.ids[row] as string;
    const inTok = this.matrix.cols.inputTokens[row * M + m] as number;
    const outTok = this.matrix.cols.outputTokens[row * M + m] as number;
    return {
      id,
      text: this.responses.get(`${id}\u0000${model}`) ?? '',
      promptTokens: Number.isNaN(inTok) ? 0 : inTok,
      completionTokens: Number.isNaN(outTok) ? 0 : outTok,
    };
  }
}
