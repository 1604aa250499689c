import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SseByteSplitter } from './http.js';
import type { UpstreamResponse } from './providers/openai-compatible.js';
import { pipeStream } from './stream.js';

/** A ServerResponse stand-in that keeps what was written. */
function sink(): { res: ServerResponse; text: () => string } {
  const parts: string[] = [];
  const res = { writeHead: () => res, cork: () => undefined, uncork: () => undefined, write: (b: string | Buffer) => parts.push(b.toString()), end: (b?: string | Buffer) => void (b !== undefined && parts.push(b.toString())) };
  return { res: res as unknown as ServerResponse, text: () => parts.join('') };
}

function upstream(text: string, cut: number): UpstreamResponse {
  const bytes = Buffer.from(text, 'utf8');
  const body = (async function* () {
    for (let i = 0; i < bytes.length; i += cut) yield bytes.subarray(i, i + cut);
  })();
  return { status: 200, headers: {}, body: Object.assign(body, { text: async () => text, json: async () => ({}) }) };
}

const chunk = (model: string, content: string): string => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content } }] })}\n\n`;

describe('pipeStream', () => {
  const model = { inputPricePerMTok: 1, outputPricePerMTok: 2 } as never;
  const usage = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 20 } })}\n\n`;
  const stream = `${chunk('m', 'héllo 😀 ')}${chunk('m', 'a line that says data: [DONE] is not the end')}${chunk('other-name', '!')}${usage}data: [DONE]\n\n`;

  for (const cut of [1, 7, 4096]) {
    it(`passes chunks through, renames, bills the usage chunk and ends once (upstream reads of ${cut} bytes)`, async () => {
      const { res, text } = sink();
      let billed = -1;
      await pipeStream({ res, upstream: upstream(stream, cut), finish: () => undefined, headers: {}, model, modelId: 'm', clientWantsUsage: false, after: async (c) => void (billed = c), otherCalls: 0, recordFirst: false });
      const out = text();
      expect(out.startsWith(chunk('m', 'héllo 😀 '))).toBe(true); // byte for byte
      expect(out).toContain('a line that says data: [DONE] is not the end');
      expect(out).toContain('"model":"m"'); // the chunk naming another model is renamed
      expect(out).not.toContain('other-name');
      expect(out).not.toContain('"usage"'); // the client did not ask for it
      expect(out.match(/^data: \[DONE\]$/gm)).toHaveLength(1);
      expect(out.endsWith(`: x-switchyard-cost-usd=${(5e-5).toPrecision(6)}\n\ndata: [DONE]\n\n`)).toBe(true);
      expect(billed).toBeCloseTo((10 * 1 + 20 * 2) / 1e6, 12);
    });
  }

  it('ignores what an upstream sends after [DONE] (a second [DONE] included)', async () => {
    const { res, text } = sink();
    let ends = 0;
    const counted = Object.assign(res, { end: ((end) => (b?: string | Buffer) => (ends++, end(b)))(res.end.bind(res) as (b?: string | Buffer) => void) });
    await pipeStream({ res: counted, upstream: upstream(`${chunk('m', 'a')}data: [DONE]\n\n${chunk('m', 'late')}data: [DONE]\n\n`, 4096), finish: () => undefined, headers: {}, model, modelId: 'm', clientWantsUsage: false, after: async () => undefined, otherCalls: 0, recordFirst: false });
    expect(ends).toBe(1);
    expect(text()).not.toContain('late');
  });

  it('splits bytes into whole events, blank line included, across any cut', () => {
    const bytes = Buffer.from(stream, 'utf8');
    for (const size of [1, 3, 64]) {
      const splitter = new SseByteSplitter();
      const events: string[] = [];
      for (let i = 0; i < bytes.length; i += size) events.push(...splitter.push(bytes.subarray(i, i + size)).map((e) => e.toString('utf8')));
      expect(events.join('')).toBe(stream);
      expect(events).toHaveLength(5);
    }
  });
});
