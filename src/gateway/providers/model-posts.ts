/**
 * Each configured model's transport: Anthropic models translate the OpenAI wire format
 * (anthropic.ts), `replay` models answer in process from a dataset's recorded answers (replay.ts);
 * the others use the shared OpenAI-compatible transport as it is (absent from the map).
 */
import { loadDataset } from '../../data/load.js';
import type { ModelConfig } from '../config.js';
import { ReplayData } from '../replay-upstream/replay-data.js';
import { anthropicPost } from './anthropic.js';
import { platformAuth } from './anthropic-platform.js';
import { structuredOf } from './anthropic-structured.js';
import { thinkingOf } from './anthropic-thinking.js';
import type { HttpPost } from './openai-compatible.js';
import { replayPost } from './replay.js';

/** `env`: where a Bedrock or Vertex model without a key finds its cloud credentials (AWS_*, GCE_METADATA_HOST). */
export async function modelPosts(models: Readonly<Record<string, ModelConfig>>, base: HttpPost, now: () => number, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Map<string, HttpPost>> {
  const posts = new Map<string, HttpPost>();
  const replays = new Map<string, ReplayData>();
  for (const [id, m] of Object.entries(models)) {
    if (m.provider === 'anthropic') {
      const platform = m.platform ?? 'anthropic';
      const options = { outputLimit: m.maxOutputTokens, thinking: thinkingOf(id, m), promptCache: m.promptCache, structured: structuredOf(id, m), platform, auth: platformAuth(platform, env, now, m.awsRegion) };
      posts.set(id, anthropicPost(base, now, options));
    }
    if (m.provider !== 'replay' || !m.data) continue;
    let data = replays.get(m.data);
    if (!data) replays.set(m.data, (data = await ReplayData.load(loadDataset(m.data))));
    posts.set(id, replayPost(data, now));
  }
  return posts;
}
