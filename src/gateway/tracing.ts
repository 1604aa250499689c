/**
 * OpenTelemetry traces (`tracing: true` in the config; off by default). The gateway uses only
 * `@opentelemetry/api`: spans go wherever the application's OpenTelemetry SDK sends them (register one,
 * e.g. `node --import ./otel.js dist/src/cli/main.js serve …`), and nowhere without one. Per request,
 * a SERVER span continues the client's trace (`traceparent`), and each model call is a CLIENT span
 * under it whose context travels to the upstream in `traceparent`, so a trace shows the client, the
 * gateway's routing decision and every call it made. Attribute names follow the OpenTelemetry GenAI
 * conventions where they exist (`gen_ai.*`); Switchyard's own are `switchyard.*`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { ModelConfig } from './config.js';

const tracer = () => trace.getTracer('switchyard');

/** A request's span and the context its children start from. */
export interface RequestSpan {
  readonly span: Span;
  readonly context: Context;
}

/** The request's SERVER span, a child of the client's trace when it sent `traceparent`. */
export function startRequestSpan(method: string, path: string, headers: IncomingHttpHeaders): RequestSpan {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer().startSpan(`${method} ${path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends the request span with its HTTP status (5xx marks it an error) and the error code it answered, if any. */
export function endRequestSpan(r: RequestSpan, status: number, errorCode: string | undefined): void {
  r.span.setAttribute('http.response.status_code', status);
  if (errorCode) r.span.setAttribute('error.type', errorCode);
  if (status >= 500) r.span.setStatus({ code: SpanStatusCode.ERROR, ...(errorCode ? { message: errorCode } : {}) });
  r.span.end();
}

/** A model call's CLIENT span under the request's, and the headers that carry its context upstream. */
export function startCallSpan(parent: RequestSpan, modelId: string, model: ModelConfig, attributes: Attributes = {}): { span: Span; headers: Record<string, string> } {
  let host = '';
  try {
    if (!model.deployments) host = new URL(model.baseURL).host; // with deployments the call's endpoint is drawn later
  } catch {
    // a replay model has no real URL
  }
  const span = tracer().startSpan(
    `chat ${model.upstreamModel ?? modelId}`,
    { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.system': model.provider === 'anthropic' ? 'anthropic' : 'openai', 'gen_ai.request.model': model.upstreamModel ?? modelId, 'switchyard.model': modelId, 'server.address': host, ...attributes } },
    parent.context,
  );
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent.context, span), headers);
  return { span, headers };
}

/** Ends a model call's span: how it went (`done`, else an error: failed, refused, cancelled, broken) and what it cost. */
export function endCallSpan(call: { span: Span } | undefined, outcome: string, costUsd?: number, usage?: { prompt_tokens?: number; completion_tokens?: number }): void {
  if (!call) return;
  const { span } = call;
  span.setAttribute('switchyard.outcome', outcome);
  if (costUsd !== undefined) span.setAttribute('switchyard.cost_usd', costUsd);
  if (usage?.prompt_tokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', usage.prompt_tokens);
  if (usage?.completion_tokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', usage.completion_tokens);
  if (outcome !== 'done') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end();
}
