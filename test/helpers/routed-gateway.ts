/**
 * A gateway in front of recorded answers, for the tests of the wire formats in front of its chat
 * pipeline: a synthetic dataset with answer texts served by replay-upstream, a route `auto` with a
 * ridge router fitted on it, gateway keys `sk-team` and `sk-other-team`, and a `tooler` model (a local server that calls
 * the `weather` tool, then answers from its result, and records what it was sent).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildMatrix, loadDataset } from '../../src/data/load.js';
import { writeDataset } from '../../src/data/write.js';
import { hashKey } from '../../src/gateway/auth.js';
import { parseGatewayConfig } from '../../src/gateway/config.js';
import { ReplayData } from '../../src/gateway/replay-upstream/replay-data.js';
import { ReplayUpstream } from '../../src/gateway/replay-upstream/server.js';
import { Gateway } from '../../src/gateway/server.js';
import { SqliteStore } from '../../src/gateway/store/sqlite-store.js';
import { createRouter } from '../../src/routers/registry.js';
import type { DatasetMeta, MatrixRow } from '../../src/spec/dataset.js';
import { syntheticAnswers, syntheticRows } from './synthetic.js';

export interface ToolRequest {
  readonly messages: Array<Record<string, unknown>>;
  readonly tools?: unknown;
  readonly tool_choice?: unknown;
  readonly stream?: boolean;
}

export interface RoutedGateway {
  readonly gateway: Gateway;
  /** http://host:port (no /v1). */
  readonly base: string;
  readonly meta: DatasetMeta;
  /** A test prompt with recorded answers. */
  readonly question: MatrixRow;
  /** Every test prompt. */
  readonly testRows: readonly MatrixRow[];
  /** The recorded answer of `model` to the question. */
  answerOf(model: string): string;
  /** What the tool-calling model was sent, in order. */
  readonly toolRequests: ToolRequest[];
  close(): Promise<void>;
}

/** The tool-calling model: non-streamed, a weather call (or the answer once a tool result is in); streamed, `streamText` then the call in argument pieces. */
function startTooler(requests: ToolRequest[], streamText: string): Promise<Server> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const r = JSON.parse(raw) as ToolRequest;
      requests.push(r);
      const usage = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, completion_tokens_details: { reasoning_tokens: 4 } };
      if (r.stream) {
        const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 't', object: 'chat.completion.chunk', created: 1, model: 'tooler', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(
          (streamText ? chunk({ role: 'assistant', content: streamText }) : '') +
            chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }] }) +
            chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) +
            chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }) +
            chunk({}, 'tool_calls') +
            `data: ${JSON.stringify({ id: 't', object: 'chat.completion.chunk', created: 1, model: 'tooler', choices: [], usage })}\n\ndata: [DONE]\n\n`,
        );
        return;
      }
      const answered = r.messages.some((m) => m['role'] === 'tool');
      const message = answered ? { role: 'assistant', content: 'Sunny in Paris.' } : { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 't', object: 'chat.completion', created: 1, model: 'tooler', choices: [{ index: 0, message, finish_reason: answered ? 'stop' : 'tool_calls' }], usage }));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

/** `config`: more gateway config (e.g. `{ cache: { enabled: true } }`); `fetch`: the gateway's transport (to count its calls). */
export async function startRoutedGateway(options: { seed: number; streamText?: string; config?: Record<string, unknown>; fetch?: typeof fetch }): Promise<RoutedGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-wire-'));
  const { meta, rows } = syntheticRows({ prompts: 160, seed: options.seed });
  const answers = syntheticAnswers(rows, options.seed);
  writeDataset(dir, meta, rows, answers);
  const question = rows.find((r) => r.split === 'test') as MatrixRow;
  const upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
  const upURL = await upstream.listen();
  const toolRequests: ToolRequest[] = [];
  const tooler = await startTooler(toolRequests, options.streamText ?? '');
  const router = createRouter('linear:encoder=hashing:dim=256');
  await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
  const artifact = join(dir, 'linear.json');
  writeFileSync(artifact, JSON.stringify(router.toArtifact()));
  const models = {
    ...Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
    tooler: { baseURL: `http://127.0.0.1:${(tooler.address() as AddressInfo).port}/v1`, inputPricePerMTok: 1, outputPricePerMTok: 2 },
  };
  const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifact, lambda: 0.5 } }, auth: { keys: [{ name: 'team', sha256: hashKey('sk-team') }, { name: 'other', sha256: hashKey('sk-other-team') }] }, ...options.config });
  const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), ...(options.fetch ? { fetch: options.fetch } : {}) });
  const base = (await gateway.listen()).replace(/\/v1$/, '');
  return {
    gateway,
    base,
    meta,
    question,
    testRows: rows.filter((r) => r.split === 'test'),
    answerOf: (model) => answers.find((a) => a.id === question.id && a.model === model)?.response as string,
    toolRequests,
    close: async () => {
      await gateway.close();
      await upstream.close();
      tooler.close();
    },
  };
}
