/** OpenAI-shaped error bodies with stable codes (documented in docs/errors.md, section "HTTP"). */
export const HTTP_ERROR_CODES = {
  prompt_not_found: 'replay upstream: no recorded prompt matches the request (404).',
  model_not_found: 'The requested model is not served here (404).',
  model_not_allowed: 'The API key may not use the requested route or model (its `models` list in the config) (403).',
  invalid_request: 'The request body is not a valid chat completion request (400).',
  not_found: 'No such endpoint (404).',
  origin_not_allowed: 'A browser preflight (OPTIONS) from an origin not in server.cors.origins (403).',
  invalid_api_key: 'Missing or unknown API key (401).',
  invalid_signature: 'edge node: gossip not signed with the swarm\'s secret, signed too far from the node\'s clock, or changed on the way (401).',
  budget_exceeded: 'The API key has spent its daily or monthly budget (429).',
  rate_limited: 'The API key sent more requests, or asked for more tokens, this minute than its requestsPerMinute / tokensPerMinute allow (429, with retry-after).',
  key_exists: 'admin API: an API key of that name exists (in the store or the config file) (409).',
  key_not_found: 'admin API: no API key of that name (404).',
  key_in_config: 'admin API: the key is in the config file; change it there (SIGHUP reloads it) (409).',
  config_invalid: 'admin API: a reload found the config file invalid, or a router or model in it would not load; the running config stays (400).',
  admin_read_only: 'admin API: the admin key has role read; it may only read (GET) (403).',
  response_not_found: 'Responses API: no stored response with that id for this API key — expired, deleted, created with store: false, or by another key (404).',
  request_not_found: 'Feedback names a request id the gateway has no decision for, or (auth.feedback: own) one another API key made (404).',
  internal_error: 'An unexpected failure inside the server (500); the server keeps running.',
  store_unavailable: 'gateway: its store (Redis, SQLite) did not answer a read this request needs (503, retry-after); answered requests are still recorded once it is back.',
  injected_fault: 'replay upstream: a fault injected on purpose for tests and benchmarks.',
  upstream_error: 'gateway: the upstream answered a final error (4xx); passed on with its status.',
  context_length_exceeded: "gateway: the request (prompt + max_tokens, counted in cl100k tokens) fits no model of the route's context window (400).",
  unsupported_capability: 'gateway: the request needs tools, image input, a JSON schema, audio or several choices (n > 1), and no model of the route (or the model named) supports it per models.<id>.supports (400).',
  overloaded: 'gateway: it is answering server.maxInFlight requests already (503, retry-after: 1).',
  upstream_unavailable: 'gateway: every candidate model failed or timed out before the first byte (502, or 429).',
  upstream_stream_broken: 'gateway: a stream broke after bytes were sent; ends the stream as an error event.',
} as const;
export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;

export interface OpenAIErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly code: HttpErrorCode; readonly param: string | null };
}

export function errorBody(code: HttpErrorCode, message: string, type = 'invalid_request_error', param: string | null = null): OpenAIErrorBody {
  return { error: { message, type, code, param } };
}
