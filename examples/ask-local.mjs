// Asks the local gateway (examples/local.yaml) a few recorded GSM8K test questions with the official
// openai SDK, on both routes, and prints which model each route chose, what it cost, and the answer.
//   node examples/ask-local.mjs [http://127.0.0.1:8080/v1] [questions]
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';

const baseURL = process.argv[2] ?? 'http://127.0.0.1:8080/v1';
const count = Number(process.argv[3] ?? 5);
const data = new URL('../../shared/data/routellm_gsm8k/matrix.jsonl', import.meta.url);
const questions = readFileSync(data, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.split === 'test').slice(0, count);
const client = new OpenAI({ baseURL, apiKey: 'unused' });
for (const q of questions) {
  for (const route of ['auto', 'auto-cheap']) {
    const { data: answer, response } = await client.chat.completions.create({ model: route, messages: [{ role: 'user', content: q.prompt }] }).withResponse();
    const text = (answer.choices[0]?.message.content ?? '').replace(/\s+/g, ' ');
    console.log(`${q.id} ${route.padEnd(10)} → ${response.headers.get('x-switchyard-model').padEnd(38)} $${Number(response.headers.get('x-switchyard-cost-usd')).toExponential(2)}  ${text.slice(0, 60)}…`);
  }
}
