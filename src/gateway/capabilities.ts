/**
 * What a chat request needs of the model that answers it — tools, image input, a JSON schema for the
 * answer, audio, several choices, token log probabilities — and which models can give it
 * (`models.X.supports`). A route chooses only among the models that can (a small local model without
 * function calling is never sent a request with `tools`, which it would answer by ignoring them or
 * with an error); one that has none refuses the request with 400 `unsupported_capability`, naming
 * what is missing where. A model whose `supports` says nothing of a capability is taken to have it,
 * so configs that do not use `supports` route as before.
 */
import { z } from 'zod';
import type { ChatRequest } from './http.js';

export const CAPABILITIES = ['tools', 'vision', 'json_schema', 'audio', 'multiple_choices', 'logprobs'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** `models.X.supports`: what the model can do; an absent entry counts as supported. */
export const SupportsSchema = z.strictObject({
  /** Function / tool calling (`tools`, legacy `functions`). */
  tools: z.boolean().optional(),
  /** Image input (`image_url` content parts). */
  vision: z.boolean().optional(),
  /** Structured outputs (`response_format: {type: "json_schema"}`); plain JSON mode is not counted. */
  json_schema: z.boolean().optional(),
  /** Audio input or output (`input_audio` parts, `modalities` with "audio"). */
  audio: z.boolean().optional(),
  /** Several choices in one answer (`n` > 1); the `anthropic` and `replay` providers give one. */
  multiple_choices: z.boolean().optional(),
  /** Token log probabilities (`logprobs: true`, `top_logprobs`); the `anthropic` and `replay` providers have none. */
  logprobs: z.boolean().optional(),
});
export type Supports = z.infer<typeof SupportsSchema>;

/** Why a request needs a capability, for the error that says none of the models has it. */
const WHY: Record<Capability, string> = {
  tools: '`tools`',
  vision: 'an image in `messages`',
  json_schema: '`response_format` json_schema',
  audio: 'audio in `messages` or `modalities`',
  multiple_choices: '`n` > 1',
  logprobs: '`logprobs` or `top_logprobs`',
};

/** What a provider cannot do whatever the model (its `supports` may still say otherwise). */
const PROVIDER_LACKS: Readonly<Record<string, Supports>> = {
  anthropic: { multiple_choices: false, logprobs: false },
  replay: { multiple_choices: false, logprobs: false },
};

/** A model's capabilities: its provider's limits, then its own `supports` over them. */
export function supportsOf(model: { readonly provider?: string | undefined; readonly supports?: Supports | undefined } | undefined): Supports | undefined {
  const lacks = model?.provider ? PROVIDER_LACKS[model.provider] : undefined;
  return lacks ? { ...lacks, ...model?.supports } : model?.supports;
}

const nonEmpty = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

/** The content parts of every message, of any API shape (OpenAI's `{type: …}` objects). */
function* parts(body: ChatRequest): Generator<{ readonly type?: unknown }> {
  for (const m of body.messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content as unknown[]) if (typeof p === 'object' && p !== null) yield p as { type?: unknown };
  }
}

/** What `body` needs of its model, in CAPABILITIES order. */
export function requiredCapabilities(body: ChatRequest): Capability[] {
  const needs = new Set<Capability>();
  if (nonEmpty(body['tools']) || nonEmpty(body['functions'])) needs.add('tools');
  const format = body['response_format'];
  if (typeof format === 'object' && format !== null && (format as { type?: unknown }).type === 'json_schema') needs.add('json_schema');
  if (Array.isArray(body['modalities']) && (body['modalities'] as unknown[]).includes('audio')) needs.add('audio');
  if (typeof body['n'] === 'number' && body['n'] > 1) needs.add('multiple_choices');
  if (body['logprobs'] === true || (typeof body['top_logprobs'] === 'number' && body['top_logprobs'] > 0)) needs.add('logprobs');
  for (const p of parts(body)) {
    if (p.type === 'image_url') needs.add('vision');
    else if (p.type === 'input_audio') needs.add('audio');
  }
  return CAPABILITIES.filter((c) => needs.has(c));
}

/** What of `needs` the model lacks (its `supports` says false). */
export function missingCapabilities(supports: Supports | undefined, needs: readonly Capability[]): Capability[] {
  return supports ? needs.filter((c) => supports[c] === false) : [];
}

/** The models of `ids` that lack nothing of `needs`. */
export function capableModels(ids: readonly string[], supportsOf: (id: string) => Supports | undefined, needs: readonly Capability[]): string[] {
  return needs.length === 0 ? [...ids] : ids.filter((id) => missingCapabilities(supportsOf(id), needs).length === 0);
}

/** The error text for a request none of `ids` can answer. */
export function unsupportedMessage(what: string, ids: readonly string[], supportsOf: (id: string) => Supports | undefined, needs: readonly Capability[]): string {
  const lacking = ids.map((id) => `${id} (no ${missingCapabilities(supportsOf(id), needs).join(', no ')})`);
  return `this request needs ${needs.map((c) => `${c} (${WHY[c]})`).join(' and ')}; ${what} has no model that supports ${needs.length > 1 ? 'them all' : 'it'}: ${lacking.join(', ')} — see models.<id>.supports`;
}
