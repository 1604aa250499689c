/**
 * Claude where enterprises buy it: Anthropic's API, Amazon Bedrock or Google Vertex AI
 * (`models.X.platform`). The Messages body is the same; what differs is where it goes, how it is
 * authenticated and, on Bedrock, how a stream comes back:
 * - `anthropic`: `POST {baseURL}/messages`, `x-api-key`.
 * - `bedrock`: `POST {baseURL}/model/{model}/invoke` (or `/invoke-with-response-stream`, answered in
 *   AWS's binary event stream), `anthropic_version: bedrock-2023-05-31` and any `anthropic-beta`
 *   header in the body, no `model` or `stream` there; a Bedrock API key (`apiKeyEnv`) as a bearer
 *   token, else AWS credentials signing it (SigV4, aws-sigv4.ts).
 * - `vertex`: `POST {baseURL}/publishers/anthropic/models/{model}:rawPredict` (or
 *   `:streamRawPredict`, server-sent events as Anthropic's), `anthropic_version: vertex-2023-10-16`
 *   in the body; an access token (`apiKeyEnv`) or the Google metadata server's (gcp-token.ts).
 */
import type { AnthropicRequest } from './anthropic-wire.js';
import { AwsCredentialSource, regionOf, signV4 } from './aws-sigv4.js';
import { GcpMetadataToken } from './gcp-token.js';

export type AnthropicPlatform = 'anthropic' | 'bedrock' | 'vertex';
export const ANTHROPIC_VERSION = '2023-06-01';
const BEDROCK_VERSION = 'bedrock-2023-05-31';
const VERTEX_VERSION = 'vertex-2023-10-16';

/** How a model on a cloud platform authenticates when it has no key of its own (one per model: each caches its credentials). */
export interface PlatformAuth {
  readonly aws?: AwsCredentialSource;
  readonly gcp?: GcpMetadataToken;
  /** The AWS region to sign for (default: the one in the endpoint's host name). */
  readonly region?: string | undefined;
  readonly now: () => number;
}

export function platformAuth(platform: AnthropicPlatform, env: Readonly<Record<string, string | undefined>>, now: () => number, region?: string): PlatformAuth {
  if (platform === 'bedrock') return { aws: new AwsCredentialSource(env, undefined, now), region, now };
  if (platform === 'vertex') return { gcp: new GcpMetadataToken(env, undefined, now), now };
  return { now };
}

/** A Messages call as the platform takes it: its URL, headers and body, and the framing of a streamed answer. */
export interface PlatformCall {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly stream: 'sse' | 'aws-event-stream';
}

/** A model id as one path segment (`:` of Bedrock's ids encoded, `@` of Vertex's kept). */
const segment = (model: string): string => encodeURIComponent(model).replace(/%40/g, '@');

/**
 * The call for `request` on `platform`: `chatUrl` is the model's `{baseURL}/chat/completions`,
 * `headers` the model's own and trace context (an `anthropic-beta`, a newer `anthropic-version`),
 * `key` the model's `apiKeyEnv` value.
 */
export async function platformCall(platform: AnthropicPlatform, chatUrl: URL, headers: Readonly<Record<string, string>>, request: AnthropicRequest, key: string | undefined, auth: PlatformAuth): Promise<PlatformCall> {
  const url = new URL(chatUrl.href);
  const base = url.pathname.replace(/\/chat\/completions$/, '');
  const { model, stream, ...rest } = request;
  const { 'anthropic-beta': beta, 'anthropic-version': version, ...other } = headers;
  if (platform === 'anthropic') {
    url.pathname = `${base}/messages`;
    return { url, headers: { 'content-type': 'application/json', 'anthropic-version': version ?? ANTHROPIC_VERSION, ...(beta ? { 'anthropic-beta': beta } : {}), ...other, ...(key ? { 'x-api-key': key } : {}) }, body: JSON.stringify(request), stream: 'sse' };
  }
  if (platform === 'vertex') {
    url.pathname = `${base}/publishers/anthropic/models/${segment(model)}:${stream ? 'streamRawPredict' : 'rawPredict'}`;
    const token = key ?? (await (auth.gcp as GcpMetadataToken).get());
    const body = JSON.stringify({ anthropic_version: VERTEX_VERSION, ...rest, ...(stream ? { stream } : {}) });
    return { url, headers: { 'content-type': 'application/json', ...(beta ? { 'anthropic-beta': beta } : {}), ...other, authorization: `Bearer ${token}` }, body, stream: 'sse' };
  }
  url.pathname = `${base}/model/${segment(model)}/${stream ? 'invoke-with-response-stream' : 'invoke'}`;
  const betas = beta?.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const body = JSON.stringify({ anthropic_version: BEDROCK_VERSION, ...(betas && betas.length > 0 ? { anthropic_beta: betas } : {}), ...rest });
  const sent = { 'content-type': 'application/json', accept: stream ? 'application/vnd.amazon.eventstream' : 'application/json', ...other };
  if (key) return { url, headers: { ...sent, authorization: `Bearer ${key}` }, body, stream: 'aws-event-stream' };
  const region = auth.region ?? regionOf(url);
  if (!region) throw new Error(`no AWS region for ${url.host}: set the model's awsRegion`);
  const creds = await (auth.aws as AwsCredentialSource).get();
  return { url, headers: { ...sent, ...signV4({ method: 'POST', url, body }, creds, region, 'bedrock', auth.now()) }, body, stream: 'aws-event-stream' };
}
