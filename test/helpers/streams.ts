/** What a test reads off a streamed chat completion: the text, the usage chunk (if any) and the model named. */
export interface StreamRead {
  readonly text: string;
  /** Whether a usage chunk came. */
  readonly sawUsage: boolean;
  readonly completionTokens: number;
  readonly model: string;
}

export async function readStream(stream: AsyncIterable<{ model: string; choices: Array<{ delta: { content?: string | null } }>; usage?: { completion_tokens: number } | null }>): Promise<StreamRead> {
  let text = '';
  let sawUsage = false;
  let completionTokens = 0;
  let model = '';
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    if (c.usage) {
      sawUsage = true;
      completionTokens += c.usage.completion_tokens;
    }
    model = c.model;
  }
  return { text, sawUsage, completionTokens, model };
}
