/**
 * `switchyard serve --check --probe`: asks every configured endpoint (each deployment of each model)
 * for its model list — `GET {baseURL}/models` with the model's key, query and headers, as the gateway
 * would call it — so a wrong URL, an unset or refused key, or a firewall shows before traffic does.
 * In-process `replay` models have no endpoint and are not probed.
 */
import { request } from 'undici';
import type { ModelConfig } from './config.js';
import { deploymentConfigs } from './deployments.js';
import { ANTHROPIC_VERSION } from './providers/anthropic.js';
import { endpointUrl, headersOf } from './providers/openai-compatible.js';

/** How a probe asks (the gateway's own HTTP client by default; injectable for tests). */
export type ProbeGet = (url: URL, headers: Record<string, string>, timeoutMs: number) => Promise<number>;

const undiciGet: ProbeGet = async (url, headers, timeoutMs) => {
  const r = await request(url, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs) });
  await r.body.dump();
  return r.statusCode;
};

export interface ProbeResult {
  /** `model`, or `model (deployment k)`. */
  readonly target: string;
  readonly url: string;
  readonly ok: boolean;
  /** What came back: `200`, `401: the key was refused`, `unreachable: …`. */
  readonly outcome: string;
}

/** Every endpoint a model is called at: its own, or each deployment's. */
function endpoints(id: string, m: ModelConfig): Array<{ target: string; config: ModelConfig }> {
  const configs = deploymentConfigs(m);
  return configs.map((config, k) => ({ target: m.deployments?.length ? `${id} (deployment ${k})` : id, config }));
}

async function probeOne(target: string, m: ModelConfig, env: Readonly<Record<string, string | undefined>>, get: ProbeGet, timeoutMs: number): Promise<ProbeResult> {
  const url = endpointUrl(m, 'models');
  // Bedrock's and Vertex's inference endpoints list no models: a wrong region or project shows at the first call
  if (m.platform === 'bedrock' || m.platform === 'vertex') return { target, url: url.href, ok: true, outcome: `not probed (${m.platform} has no model list at its inference endpoint)` };
  const key = m.apiKeyEnv ? env[m.apiKeyEnv] : undefined;
  const headers: Record<string, string> = { ...headersOf(m, env) };
  if (key) Object.assign(headers, m.provider === 'anthropic' ? { 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION } : { authorization: `Bearer ${key}` });
  try {
    const status = await get(url, headers, timeoutMs);
    const why = status === 401 || status === 403 ? `: the key was refused${m.apiKeyEnv && !key ? ` (${m.apiKeyEnv} is not set)` : ''}` : status === 404 ? ': no model list there (is baseURL right?)' : '';
    return { target, url: url.href, ok: status >= 200 && status < 300, outcome: `${status}${why}` };
  } catch (e) {
    const err = e as { code?: string; cause?: { code?: string }; message: string };
    return { target, url: url.href, ok: false, outcome: `unreachable: ${err.code ?? err.cause?.code ?? err.message}` };
  }
}

/** Probes every endpoint of every non-replay model, in parallel. */
export function probeModels(models: Readonly<Record<string, ModelConfig>>, env: Readonly<Record<string, string | undefined>>, timeoutMs = 5000, get: ProbeGet = undiciGet): Promise<ProbeResult[]> {
  const all = Object.entries(models)
    .filter(([, m]) => m.provider !== 'replay')
    .flatMap(([id, m]) => endpoints(id, m));
  return Promise.all(all.map((e) => probeOne(e.target, e.config, env, get, timeoutMs)));
}
