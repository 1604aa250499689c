/**
 * A gateway process killed (SIGKILL: no graceful stop) while its Redis store is down loses nothing it
 * answered: the records it could not write are in its journal, and the next start writes them.
 * Real processes: redis-server, replay-upstream, `switchyard serve`; the official openai SDK.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { hashKey } from '../src/gateway/auth.js';
import { freePort, hasRedis, startCli, startRedis } from './helpers/processes.js';
import { syntheticDir } from './helpers/synthetic.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the crash-during-outage test cannot run');
const CLI = resolve('dist/src/cli/main.js');

describe.skipIf(!hasRedis)('a gateway killed during a store outage', () => {
  it('leaves a journal that the next start writes to the store', async () => {
    const data = syntheticDir({ prompts: 20, answers: true });
    const matrix = loadDataset(data);
    const model = matrix.models[0]?.id as string;
    const upstream = await startCli(['replay-upstream', '--data', data, '--port', '0']);
    const port = await freePort();
    let redis = await startRedis(port);
    const dir = mkdtempSync(join(tmpdir(), 'sy-crash-'));
    const config = join(dir, 'sy.yaml');
    writeFileSync(
      config,
      `server: { port: 0 }\nstore: { backend: redis, url: "${redis.ready}", keyPrefix: "crash:", outbox: outbox.jsonl }\n` +
        `auth: { keys: [{ name: team, sha256: ${hashKey('sk-team')} }] }\nmodels:\n  ${model}: { baseURL: "${upstream.ready}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`,
    );
    try {
      const first = await startCli(['serve', '--config', config]);
      const client = new OpenAI({ baseURL: first.ready, apiKey: 'sk-team', maxRetries: 0 });
      await redis.stop();
      const ids: string[] = [];
      for (let k = 0; k < 3; k++) {
        const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: matrix.view('test').text(k) }] }).withResponse();
        ids.push(r.response.headers.get('x-request-id') as string);
      }
      first.proc.kill('SIGKILL');
      await new Promise((r) => first.proc.once('exit', r));
      expect(readdirSync(dir).filter((f) => f.startsWith('outbox.jsonl.journal-'))).toHaveLength(1);

      redis = await startRedis(port); // empty (no persistence in tests): only the journal has these records
      const second = await startCli(['serve', '--config', config]);
      let listed = '';
      for (let k = 0; k < 40 && !ids.every((id) => listed.includes(id)); k++) {
        await new Promise((r) => setTimeout(r, 100));
        listed = spawnSync(process.execPath, [CLI, 'decisions', '--config', config], { encoding: 'utf8' }).stdout;
      }
      for (const id of ids) expect(listed, second.output()).toMatch(new RegExp(`${id}\\s+${model}\\s+${model}\\s+200`));
      const usage = (await new OpenAI({ baseURL: second.ready, apiKey: 'sk-team', maxRetries: 0 }).get('/usage')) as { day: { spent_usd: number } };
      expect(usage.day.spent_usd).toBeGreaterThan(0);
      await second.stop();
      expect(readdirSync(dir).filter((f) => f.includes('journal'))).toEqual([]);
      expect(existsSync(join(dir, 'outbox.jsonl'))).toBe(false);
    } finally {
      await redis.stop();
      await upstream.stop();
    }
  });
});
