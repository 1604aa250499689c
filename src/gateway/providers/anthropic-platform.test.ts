/**
 * Claude on Amazon Bedrock and Google Vertex AI (`models.X.platform`): requests reach local servers
 * that check what those clouds check — the path, `anthropic_version`, no `model` in the body, a SigV4
 * signature recomputed from the same credentials, a bearer token — and answer as they do (Bedrock's
 * binary event stream, Vertex's server-sent events); the official openai SDK drives the gateway.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { anthropicStreamEvents } from './anthropic-wire.js';
import { encodeEventMessage, eventMessages } from './aws-event-stream.js';
import { regionOf, signV4 } from './aws-sigv4.js';

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  readonly body: Record<string, unknown>;
}

/** A local server: each request is recorded (its body parsed when it is JSON) and answered by `answer`. */
async function serve(answer: (seen: Seen, res: ServerResponse) => void, seen: Seen[]): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const json = req.headers['content-type']?.startsWith('application/json') === true && raw !== '';
      const s = { path: req.url ?? '', headers: req.headers, raw, body: json ? (JSON.parse(raw) as Record<string, unknown>) : {} };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const MESSAGE = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [{ type: 'text', text: 'Hello from Claude' }], stop_reason: 'end_turn', usage: { input_tokens: 12, output_tokens: 4 } };
const PIECES = ['Hello', ' from', ' Bedrock'];
/** The Claude stream events as Bedrock frames them: a `chunk` message per event, its JSON base64 in `bytes`. */
function bedrockStream(): Buffer {
  const events = anthropicStreamEvents('msg_2', 'claude', PIECES, { input_tokens: 12, output_tokens: 3 }).map((e) => (e.split('\n').find((l) => l.startsWith('data: ')) as string).slice(6));
  return Buffer.concat(events.map((json) => encodeEventMessage({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }, Buffer.from(JSON.stringify({ bytes: Buffer.from(json).toString('base64') })))));
}

describe('SigV4 and the event stream', () => {
  it('signs AWS\'s published test request as AWS does (get-vanilla-query-order-key-case)', () => {
    const headers = signV4({ method: 'GET', url: new URL('https://example.amazonaws.com/?Param2=value2&Param1=value1'), body: '' }, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }, 'us-east-1', 'service', Date.parse('2015-08-30T12:36:00Z'));
    expect(headers).toEqual({ 'x-amz-date': '20150830T123600Z', authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' });
  });

  it('finds the region in a Bedrock endpoint', () => {
    expect(regionOf(new URL('https://bedrock-runtime.eu-west-3.amazonaws.com'))).toBe('eu-west-3');
    expect(regionOf(new URL('https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com'))).toBe('us-gov-west-1');
    expect(regionOf(new URL('https://vpce-0abc.bedrock-runtime.ap-southeast-2.vpce.amazonaws.com'))).toBe('ap-southeast-2');
    expect(regionOf(new URL('http://127.0.0.1:9000'))).toBeUndefined();
  });

  it('decodes messages however the bytes are split, and refuses a corrupted one', async () => {
    const bytes = bedrockStream();
    const whole: string[] = [];
    for await (const m of eventMessages([bytes])) whole.push(Buffer.from((JSON.parse(m.payload.toString()) as { bytes: string }).bytes, 'base64').toString());
    expect(whole.map((j) => (JSON.parse(j) as { type: string }).type)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    for (const size of [1, 7, 13, 100]) {
      const pieces = Array.from({ length: Math.ceil(bytes.length / size) }, (_, k) => bytes.subarray(k * size, (k + 1) * size));
      const got: string[] = [];
      for await (const m of eventMessages(pieces)) got.push(m.payload.toString());
      expect(got).toHaveLength(whole.length);
    }
    const bad = Buffer.from(bytes);
    bad[20] = (bad[20] as number) ^ 0xff;
    await expect((async () => {
      for await (const _ of eventMessages([bad]));
    })()).rejects.toThrow(/checksum/);
    await expect((async () => {
      for await (const _ of eventMessages([bytes.subarray(0, bytes.length - 3)]));
    })()).rejects.toThrow(/ended inside a message/);
  });
});

describe('Claude on Bedrock', () => {
  const seen: Seen[] = [];
  let bedrock: { server: Server; origin: string };
  let creds: { server: Server; origin: string };
  let sts: { server: Server; origin: string };
  const stsCalls: Seen[] = [];
  const gateways: Gateway[] = [];
  let fail = false;
  beforeAll(async () => {
    bedrock = await serve((s, res) => {
      if (fail) {
        // a throttling exception midway through a stream
        const started = [...eventMessagesSync(bedrockStream())].slice(0, 3);
        res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
        res.end(Buffer.concat([...started, encodeEventMessage({ ':message-type': 'exception', ':exception-type': 'throttlingException', ':content-type': 'application/json' }, Buffer.from('{"message":"Too many tokens, please wait"}'))]));
        return;
      }
      if (s.path.endsWith('/invoke-with-response-stream')) {
        const bytes = bedrockStream();
        res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
        // in uneven pieces, as a network would cut them
        for (let k = 0; k < bytes.length; k += 37) res.write(bytes.subarray(k, k + 37));
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(MESSAGE));
    }, seen);
    creds = await serve((_s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ AccessKeyId: 'ASIACONTAINER', SecretAccessKey: 'container-secret', Token: 'container-token', Expiration: '2099-01-01T00:00:00Z' })), []);
    sts = await serve((_s, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAIRSA</AccessKeyId><SecretAccessKey>irsa-secret</SecretAccessKey><SessionToken>irsa-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`), stsCalls);
  });
  afterEach(() => (fail = false));
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    bedrock.server.close();
    creds.server.close();
    sts.server.close();
  });

  async function gatewayWith(env: Record<string, string>, model: Record<string, unknown> = {}): Promise<OpenAI> {
    const config = parseGatewayConfig({
      server: { port: 0 },
      models: { claude: { provider: 'anthropic', platform: 'bedrock', baseURL: bedrock.origin, awsRegion: 'us-east-1', upstreamModel: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', headers: { 'anthropic-beta': 'context-1m-2025-08-07' }, ...model } },
    });
    const g = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), env });
    gateways.push(g);
    return new OpenAI({ baseURL: await g.listen(), apiKey: 'unused', maxRetries: 0 });
  }

  it('invokes the model with Bedrock\'s body, signed with the environment\'s AWS credentials, and bills at Bedrock\'s prices', async () => {
    const client = await gatewayWith({ AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret-test', AWS_SESSION_TOKEN: 'session-test' });
    const { data, response } = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], max_tokens: 50 }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from Claude');
    const s = seen[seen.length - 1] as Seen;
    expect(s.path).toBe('/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
    expect(s.body).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['context-1m-2025-08-07'], max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
    expect(s.body).not.toHaveProperty('model');
    expect(s.body).not.toHaveProperty('stream');
    expect(s.headers['anthropic-beta']).toBeUndefined();
    // the signature is the one AWS would compute for what arrived
    const time = Date.parse(String(s.headers['x-amz-date']).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const expected = signV4({ method: 'POST', url: new URL(`${bedrock.origin}${s.path}`), body: s.raw }, { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test', sessionToken: 'session-test' }, 'us-east-1', 'bedrock', time);
    expect(s.headers['authorization']).toBe(expected['authorization']);
    expect(s.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, /);
    expect(s.headers['x-amz-security-token']).toBe('session-test');
    // priced from the table's AWS prices for that inference profile ($3.30 / $16.50 per M)
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo((12 * 3.3 + 4 * 16.5) / 1e6, 12);
  });

  it('streams through the event stream, and ends a stream Bedrock breaks with an error, not a short answer', async () => {
    const client = await gatewayWith({ AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret-test' });
    const stream = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) (text += chunk.choices[0]?.delta.content ?? ''), (usage = chunk.usage ?? usage);
    expect(text).toBe(PIECES.join(''));
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3 });
    expect((seen[seen.length - 1] as Seen).path).toBe('/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream');
    fail = true;
    const broken = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    await expect((async () => {
      for await (const _ of broken);
    })()).rejects.toThrow(/throttlingException|stream broke/);
  });

  it('sends a Bedrock API key as a bearer token, takes the container endpoint\'s or a web identity role\'s credentials, and says when it has none', async () => {
    const keyed = await gatewayWith({ BEDROCK_KEY: 'bedrock-api-key' }, { apiKeyEnv: 'BEDROCK_KEY' });
    await keyed.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] });
    expect((seen[seen.length - 1] as Seen).headers['authorization']).toBe('Bearer bedrock-api-key');
    const pod = await gatewayWith({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${creds.origin}/v1/credentials` });
    await pod.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] });
    expect((seen[seen.length - 1] as Seen).headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIACONTAINER\//);
    expect((seen[seen.length - 1] as Seen).headers['x-amz-security-token']).toBe('container-token');
    // EKS IRSA: the service-account token exchanged at STS for the role's credentials
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'sy-irsa-')), 'token');
    writeFileSync(tokenFile, 'eyJ.service-account.jwt\n');
    const irsa = await gatewayWith({ AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/switchyard', AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ENDPOINT_URL_STS: sts.origin });
    await irsa.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] });
    await irsa.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi again' }] });
    expect((seen[seen.length - 1] as Seen).headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAIRSA\//);
    expect((seen[seen.length - 1] as Seen).headers['x-amz-security-token']).toBe('irsa-session');
    expect(stsCalls).toHaveLength(1); // cached until five minutes before they expire
    expect(Object.fromEntries(new URLSearchParams(stsCalls[0]?.raw))).toMatchObject({ Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam::123456789012:role/switchyard', WebIdentityToken: 'eyJ.service-account.jwt' });
    const none = await gatewayWith({});
    const before = seen.length;
    await expect(none.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] })).rejects.toThrow(/cannot authenticate to bedrock: no AWS credentials/);
    expect(seen.length).toBe(before); // nothing unsigned was sent
  });

  it('refuses platform settings on a model that is not anthropic, and a malformed region', () => {
    expect(() => parseGatewayConfig({ models: { m: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, platform: 'bedrock' } } })).toThrow(/platform is where an anthropic model is served/);
    expect(() => parseGatewayConfig({ models: { m: { provider: 'anthropic', baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, platform: 'bedrock', awsRegion: 'Virginia' } } })).toThrow(/expected an AWS region/);
  });
});

describe('Claude on Vertex AI', () => {
  const seen: Seen[] = [];
  const tokens: Seen[] = [];
  let vertex: { server: Server; origin: string };
  let metadata: { server: Server; origin: string };
  let gateway: Gateway;
  let client: OpenAI;
  beforeAll(async () => {
    vertex = await serve((s, res) => {
      if (s.path.endsWith(':streamRawPredict')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return res.end(anthropicStreamEvents('msg_3', 'claude', ['Hello', ' from', ' Vertex'], { input_tokens: 12, output_tokens: 3 }).join(''));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(MESSAGE));
    }, seen);
    metadata = await serve((_s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'ya29.metadata-token', expires_in: 3599, token_type: 'Bearer' })), tokens);
    const config = parseGatewayConfig({
      server: { port: 0 },
      models: { claude: { provider: 'anthropic', platform: 'vertex', baseURL: `${vertex.origin}/v1/projects/my-project/locations/us-east5`, upstreamModel: 'claude-sonnet-4-5@20250929' } },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), env: { GCE_METADATA_HOST: metadata.origin.replace('http://', '') } });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    vertex.server.close();
    metadata.server.close();
  });

  it('predicts with Vertex\'s path and body, with the metadata server\'s token (asked once), plain and streamed', async () => {
    const { data } = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from Claude');
    const plain = seen[0] as Seen;
    expect(plain.path).toBe('/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict');
    expect(plain.body).toMatchObject({ anthropic_version: 'vertex-2023-10-16', messages: [{ role: 'user', content: 'Hi' }] });
    expect(plain.body).not.toHaveProperty('model');
    expect(plain.headers['authorization']).toBe('Bearer ya29.metadata-token');
    expect(tokens[0]?.headers['metadata-flavor']).toBe('Google');
    const stream = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from Vertex');
    expect(seen[1]?.path).toMatch(/claude-sonnet-4-5@20250929:streamRawPredict$/);
    expect(seen[1]?.body).toMatchObject({ stream: true, anthropic_version: 'vertex-2023-10-16' });
    expect(tokens).toHaveLength(1); // cached until a minute before it expires
  });
});

/** The whole messages of a buffer, as buffers (to replay some of a stream). */
function* eventMessagesSync(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += bytes.readUInt32BE(at)) yield bytes.subarray(at, at + bytes.readUInt32BE(at));
}
