/**
 * Each configured model's transport: Anthropic models translate the OpenAI wire format
 * (anthropic.ts), `replay` models answer in process from a dataset's recorded answers (replay.ts);
 * the others use the shared OpenAI-compatible transport as it is (absent from the map).
 */
import { loadDataset } from '../../data/load.js';
import type { ModelConfig } from '../config.js';
import { ReplayData } from '../replay-upstream/replay-data.js';
import { anthropicPost } from './anthropic.js';
import { structuredOf } from './anthropic-structured.js';
import { thinkingOf } from './anthropic-thinking.js';
import type { HttpPost } from './openai-compatible.js';
import { replayPost } from './replay.js';

export async function modelPosts(models: Readonly<Record<string, ModelConfig>>, base: HttpPost, now: () => number): Promise<Map<string, HttpPost>> {
  const posts = new Map<string, HttpPost>();
  const replays = new Map<string, ReplayData>();
  for (const [id, m] of Object.entries(models)) {
    if (m.provider === 'anthropic') posts.set(id, anthropicPost(base, now, { outputLimit: m.maxOutputTokens, thinking: thinkingOf(id, m), promptCache: m.promptCache, structured: structuredOf(id, m) }));
    if (m.provider !== 'replay' || !m.data) continue;
    let data = replays.get(m.data);
    if (!data) replays.set(m.data, (data = await ReplayData.load(loadDataset(m.data))));
    posts.set(id, replayPost(data, now));
  }
  return posts;
}
