/**
 * `server.upstreamBodyLimitBytes`: an upstream that answers more than the limit (a runaway or hostile
 * server) cannot exhaust the gateway's memory — a JSON answer over it counts as broken and the next
 * model answers; a stream over it ends with an error event; the gateway keeps serving. And
 * `timeouts.idleMs` (a model may set its own): a stream that stalls midway ends with an error event.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

const LIMIT = 100_000;

/** An OpenAI-compatible upstream whose model `huge` answers 200 KB (JSON) or streams without end; `small` answers briefly. */
function upstream(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = JSON.parse(body) as { model: string; stream?: boolean };
      const content = r.model === 'huge' ? 'x'.repeat(200_000) : 'fine';
      if (r.model !== 'huge' && r.model !== 'small') {
        // a stream that pauses 300 ms between its chunks
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const piece = (text: string): string => `data: ${JSON.stringify({ id: 'c2', object: 'chat.completion.chunk', created: 0, model: r.model, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
        let k = 0;
        const next = (): void => {
          if (res.destroyed) return;
          if (k++ === 3) return void res.end('data: [DONE]\n\n');
          res.write(piece(`part ${k} `));
          setTimeout(next, 300);
        };
        next();
        return;
      }
      if (!r.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: r.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (text: string): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: r.model, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
      let sent = 0;
      const more = (): void => {
        if (res.destroyed || sent > 10 * LIMIT) return void res.end();
        sent += 10_000;
        res.write(chunk('y'.repeat(10_000)), () => setImmediate(more));
      };
      more();
    });
  });
}

describe('server.upstreamBodyLimitBytes and timeouts.idleMs', () => {
  let server: Server;
  let gateway: Gateway;
  let client: OpenAI;
  let url = '';

  beforeAll(async () => {
    server = upstream();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const config = parseGatewayConfig({
      server: { port: 0, upstreamBodyLimitBytes: LIMIT },
      retries: 0,
      timeouts: { idleMs: 1000 },
      models: {
        huge: { baseURL: base, inputPricePerMTok: 1, outputPricePerMTok: 1, fallbacks: ['small'] },
        small: { baseURL: base, inputPricePerMTok: 1, outputPricePerMTok: 1 },
        pausing: { baseURL: base, inputPricePerMTok: 1, outputPricePerMTok: 1 },
        impatient: { baseURL: base, inputPricePerMTok: 1, outputPricePerMTok: 1, timeouts: { idleMs: 100 } },
      },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    url = await gateway.listen();
    client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await new Promise((r) => server.close(r));
  });

  it('takes a JSON answer over the limit as broken: the next model answers', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'huge', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchyard-model')).toBe('small');
    expect(response.headers.get('x-switchyard-fallback-from')).toBe('huge');
    expect(data.choices[0]?.message.content).toBe('fine');
  });

  it('ends a stream over the limit with an error event, and keeps serving', async () => {
    const stream = await client.chat.completions.create({ model: 'huge', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let received = 0;
    const read = async (): Promise<void> => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content?.length ?? 0;
    };
    await expect(read()).rejects.toThrow(/upstream stream broke/);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(LIMIT);
    expect((await fetch(url.replace(/\/v1$/, '/health'))).status).toBe(200);
    expect((await client.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: 'hi' }] })).choices[0]?.message.content).toBe('fine');
  });

  it('ends a stream that pauses longer than idleMs with an error event; pauses within it pass', async () => {
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'pausing', stream: true, messages: [{ role: 'user', content: 'hi' }] })) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('part 1 part 2 part 3 '); // 300 ms pauses, within the config's 1,000 ms
    let got = '';
    const read = async (): Promise<void> => {
      for await (const chunk of await client.chat.completions.create({ model: 'impatient', stream: true, messages: [{ role: 'user', content: 'hi' }] })) got += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(read()).rejects.toThrow(/upstream stream broke: idle timeout/); // its own idleMs, 100 ms
    expect(got).toBe('part 1 ');
  });
});
