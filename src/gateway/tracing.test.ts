/**
 * OpenTelemetry traces through the gateway: with an SDK registered (an in-memory exporter here) and
 * `tracing: true`, a request continues the client's trace as a SERVER span, each model call is a
 * CLIENT span under it, and the upstream receives that call's `traceparent`; a failing model's call
 * span is an error. Without `tracing`, no span and no header.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('OpenTelemetry tracing', () => {
  const exporter = new InMemorySpanExporter();
  const received: Array<string | undefined> = [];
  let good: Server;
  let bad: Server;
  const gateways: Gateway[] = [];
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientSpan = '00f067aa0ba902b7';

  const upstream = (status: number): Promise<Server> => {
    const s = createServer((req, res) => {
      received.push(req.headers['traceparent'] as string | undefined);
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 200 ? JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } }) : '{"error":{"message":"down"}}');
      });
    });
    return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
  };
  const url = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`;
  const start = async (tracing: boolean): Promise<OpenAI> => {
    const config = parseGatewayConfig({ server: { port: 0 }, retries: 0, tracing, models: { cheap: { baseURL: url(bad), inputPricePerMTok: 1, outputPricePerMTok: 2 }, strong: { baseURL: url(good), inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    gateways.push(gateway);
    return new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0, defaultHeaders: { traceparent: `00-${traceId}-${clientSpan}-01` } });
  };

  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    good = await upstream(200);
    bad = await upstream(503);
  });
  beforeEach(() => {
    exporter.reset();
    received.length = 0;
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    good.close();
    bad.close();
  });

  it('continues the client\'s trace: a SERVER span for the request, a CLIENT span per model call, its context sent upstream', async () => {
    const client = await start(true);
    const { data } = await client.chat.completions.create({ model: 'strong', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('ok');
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const call = spans.find((s) => s.kind === SpanKind.CLIENT);
    expect(server?.spanContext().traceId).toBe(traceId);
    expect(server?.parentSpanContext?.spanId).toBe(clientSpan);
    expect(server?.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'http.response.status_code': 200, 'gen_ai.request.model': 'strong', 'gen_ai.response.model': 'strong', 'switchyard.chosen': 'strong' });
    expect(call?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(call?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'strong', 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 3, 'switchyard.outcome': 'done' });
    expect(call?.attributes['switchyard.cost_usd']).toBeCloseTo((12 * 1 + 3 * 2) / 1e6, 12);
    expect(received).toEqual([`00-${traceId}-${call?.spanContext().spanId}-01`]);
  });

  it('marks a failed model call and a failed request as errors', async () => {
    const client = await start(true);
    await expect(client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 502 });
    const spans = exporter.getFinishedSpans();
    expect(spans.find((s) => s.kind === SpanKind.CLIENT)).toMatchObject({ status: { code: SpanStatusCode.ERROR, message: 'failed' } });
    expect(spans.find((s) => s.kind === SpanKind.SERVER)).toMatchObject({ status: { code: SpanStatusCode.ERROR }, attributes: expect.objectContaining({ 'error.type': 'upstream_unavailable', 'http.response.status_code': 502 }) });
  });

  it('records nothing and sends no trace context when tracing is off', async () => {
    const client = await start(false);
    await client.chat.completions.create({ model: 'strong', messages: [{ role: 'user', content: 'hi' }] });
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(received).toEqual([undefined]);
  });
});
