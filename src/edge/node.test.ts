/**
 * The edge swarm end to end: four nodes on localhost, each with its own small model (replay-upstream:
 * the recorded answers of that model), no central server. The official openai SDK asks any node for
 * model `swarm`; the query travels by gossip, proposals come back (relayed when the origin cannot be
 * reached directly), and the node merges them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { hasOpenssl, testPki } from '../../test/helpers/tls.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '../../test/helpers/streams.js';
import { syntheticAnswers, syntheticRows } from '../../test/helpers/synthetic.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { AGGREGATE_INSTRUCTION } from '../gateway/mixture.js';
import { ReplayData } from '../gateway/replay-upstream/replay-data.js';
import { ReplayUpstream } from '../gateway/replay-upstream/server.js';
import { ResponseScorer } from '../routers/post-generation/response-scorer.js';
import { readAnswers } from '../eval/mixture-scores.js';
import { parseEdgeConfig } from './config.js';
import { EdgeNode, type EdgeNodeDeps } from './node.js';

const silent = pino({ level: 'silent' });
if (!hasOpenssl) console.warn('SKIP: openssl is not installed (apt-get install -y openssl), so the edge TLS test cannot run');

describe('edge swarm (distributed mixture-of-agents over gossip)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-edge-'));
  const { meta, rows } = syntheticRows({ prompts: 200, models: 4, seed: 6 });
  const answers = syntheticAnswers(rows, 6);
  writeDataset(dir, meta, rows, answers);
  const answerOf = (id: string, model: string): string => answers.find((a) => a.id === id && a.model === model)?.response as string;
  const question = rows.find((r) => r.split === 'test') as (typeof rows)[number];
  let upstream: ReplayUpstream;
  let upURL = '';
  const nodes: EdgeNode[] = [];

  /** Starts a node on an ephemeral port, with the given model and seed peers. */
  const start = async (id: string, model: string, peers: string[], extra: Record<string, unknown> = {}, deps: EdgeNodeDeps = {}): Promise<EdgeNode> => {
    const config = parseEdgeConfig({ node: { id, port: 0 }, model: { id: model, baseURL: upURL }, peers, gossip: { fanout: 2, ttl: 3, windowMs: 1500, maxProposals: 4 }, ...extra });
    const node = await EdgeNode.create(config, { logger: silent, ...deps });
    await node.listen();
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    upURL = await upstream.listen();
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
    await upstream.close();
  });

  it('answers from any node with the proposals of every node, relayed when the origin is out of reach, by the scorer\'s pick', async () => {
    const { fit } = await readAnswers(loadDataset(dir).view('train'));
    const scorer = await ResponseScorer.fit(fit, { seed: 0 });
    // a line of seeds, a → b → c → d; d cannot reach a directly, so its proposal is relayed
    let refused = 0;
    const unreachableA = (async (input: string | URL | Request, init?: RequestInit) => {
      if (!String(input).startsWith(a.url)) return fetch(input, init);
      refused++;
      throw new Error('unreachable');
    }) as typeof fetch;
    const d = await start('d', 'small-3', [], {}, { fetch: unreachableA });
    const c = await start('c', 'small-2', [d.url]);
    const b = await start('b', 'small-1', [c.url]);
    const a = await start('a', 'big-model', [b.url], { aggregate: { kind: 'scorer', scorer: 'in-memory' } }, { scorer });
    const client = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(response.headers.get('x-switchyard-aggregate')).toBe('scorer');
    expect(refused).toBeGreaterThan(0); // d tried a directly, failed, and its proposal was relayed
    const models = ['big-model', 'small-1', 'small-2', 'small-3'];
    const scores = await scorer.score(models.map((m) => ({ prompt: question.prompt, model: m, response: answerOf(question.id, m) })));
    const best = models[scores.indexOf(Math.max(...scores))] as string;
    expect(data.model).toBe(best);
    expect(data.choices[0]?.message.content).toBe(answerOf(question.id, best));
    // the nodes learned each other from the messages (c knew only d; b only c)
    expect(c.peers).toEqual(expect.arrayContaining([d.url, b.url, a.url]));
    // streamed: the merged answer as SSE
    const read = await readStream(await client.chat.completions.create({ model: 'swarm', stream: true, messages: [{ role: 'user', content: question.prompt }] }));
    expect(read.text).toBe(answerOf(question.id, best));
    // this node's model alone
    const alone = await client.chat.completions.create({ model: 'big-model', messages: [{ role: 'user', content: question.prompt }] });
    expect(alone.choices[0]?.message.content).toBe(answerOf(question.id, 'big-model'));
    // what the nodes counted, as Prometheus scrapes it
    const scrape = async (n: EdgeNode): Promise<string> => (await fetch(`${n.url}/metrics`)).text();
    const metricsA = await scrape(a);
    expect(metricsA).toContain('switchyard_edge_requests_total{asked="swarm",status="200"} 2');
    expect(metricsA).toContain('switchyard_edge_requests_total{asked="own",status="200"} 1');
    expect(metricsA).toContain('switchyard_edge_proposals_merged_sum 8'); // four proposals, twice
    expect(metricsA).toContain('switchyard_edge_aggregate_total{how="scorer"} 2');
    expect(metricsA).toMatch(/switchyard_edge_gossip_sent_total\{kind="query",outcome="delivered"\} [1-9]/);
    expect(metricsA).toContain(`switchyard_edge_peers ${a.peers.length}`);
    expect(a.peers.length).toBeGreaterThanOrEqual(2);
    const metricsD = await scrape(d);
    expect(metricsD).toMatch(/switchyard_edge_gossip_sent_total\{kind="proposal",outcome="failed"\} [1-9]/); // a was out of its reach
    expect(metricsD).toMatch(/switchyard_edge_gossip_received_total\{kind="query",outcome="accepted"\} [1-9]/);
    expect(metricsD).toContain('switchyard_edge_model_calls_total{outcome="ok"} 2');
    for (const n of [a, b, c, d]) await n.close();
  });

  it('merges with its own model (mixture-of-agents), and keeps answering when a peer is gone', async () => {
    const seen: string[] = [];
    // the local model of the merging node: answers a normal request, and merges when given the proposals
    const local: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (ch: Buffer) => (body += ch.toString()));
      req.on('end', () => {
        const r = JSON.parse(body) as { messages: Array<{ role: string; content: string }> };
        const system = r.messages[0]?.role === 'system' ? r.messages[0].content : '';
        seen.push(system);
        const content = system.startsWith(AGGREGATE_INSTRUCTION) ? 'merged answer' : 'own answer';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'tiny', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }));
      });
    });
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
    const localURL = `http://127.0.0.1:${(local.address() as AddressInfo).port}/v1`;
    try {
      const y = await start('y', 'small-1', []);
      const z = await start('z', 'small-2', []);
      const x = await EdgeNode.create(parseEdgeConfig({ node: { id: 'x', port: 0 }, model: { id: 'tiny', baseURL: localURL }, peers: [y.url, z.url], gossip: { fanout: 2, ttl: 2, windowMs: 1500, maxProposals: 3, dropAfterFailures: 1 } }), { logger: silent });
      await x.listen();
      nodes.push(x);
      const client = new OpenAI({ baseURL: `${x.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const { data, response } = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
      expect(data.choices[0]?.message.content).toBe('merged answer');
      expect(response.headers.get('x-switchyard-aggregate')).toBe('local');
      const merge = seen.find((s) => s.startsWith(AGGREGATE_INSTRUCTION)) as string;
      for (const m of ['small-1', 'small-2']) expect(merge).toContain(answerOf(question.id, m));
      expect(merge).toContain('own answer');
      // z goes away: x still answers (with y's proposal and its own), and drops z from its view
      await z.close();
      const again = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
      expect(again.response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual(['x', 'y']);
      expect(x.peers).not.toContain(z.url);
      expect(x.peers).toContain(y.url);
    } finally {
      local.close();
    }
  });

  it('refuses bad input with OpenAI-shaped errors, and takes each gossip message once', async () => {
    const n = await start('solo', 'small-1', []);
    const post = (path: string, body: unknown): Promise<Response> => fetch(`${n.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const bad = await post('/edge/gossip', { kind: 'query', id: 'q1' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const unknown = await post('/v1/chat/completions', { model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    const query = { kind: 'query', id: 'q2', origin: 'http://127.0.0.1:9', from: 'http://127.0.0.1:9', ttl: 1, deadline: 0, body: { messages: [{ role: 'user', content: 'hi' }] } };
    expect(await (await post('/edge/gossip', query)).json()).toEqual({ accepted: true });
    expect(await (await post('/edge/gossip', query)).json()).toEqual({ accepted: false });
    expect(() => parseEdgeConfig({ node: { id: 'bad id!' }, model: { id: 'm' }, aggregate: { kind: 'scorer' } })).toThrow(/node\.id: .*\n.*aggregate\.scorer/s);
    const typos = (): unknown => parseEdgeConfig({ node: { id: 'n' }, model: { id: 'm', baseURL: upURL }, gosip: { fanout: 2 }, routing: { router: 'r.json', shareFeedbak: true } });
    expect(typos).toThrow('gosip: unknown key (did you mean "gossip"?)');
    expect(typos).toThrow('routing.shareFeedbak: unknown key (did you mean "shareFeedback"?)');
  });

  it('takes at most gossip.maxPerSecond messages a second from one address (429 with retry-after), then again as time passes', async () => {
    let clock = 1_000_000;
    const n = await start('rl', 'small-1', [], { gossip: { fanout: 2, ttl: 3, windowMs: 1500, maxProposals: 4, maxPerSecond: 3 } }, { now: () => clock });
    const send = (k: number): Promise<Response> =>
      fetch(`${n.url}/edge/gossip`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'proposal', id: `rl-${k}`, origin: 'http://127.0.0.1:9', from: 'http://127.0.0.1:9', ttl: 1, node: 'x', model: 'm', text: 't', completion: {} }) });
    const statuses: number[] = [];
    for (let k = 0; k < 5; k++) statuses.push((await send(k)).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    const refused = await send(5);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    clock += 1000; // a second later: a full bucket again
    expect((await send(6)).status).toBe(202);
    const metrics = await (await fetch(`${n.url}/metrics`)).text();
    expect(metrics).toContain('switchyard_edge_gossip_received_total{kind="unknown",outcome="rate_limited"} 3');
    expect(metrics).toContain('switchyard_edge_gossip_received_total{kind="proposal",outcome="accepted"} 4');
  });

  it('with a swarm secret: members gossip signed messages; unsigned, forged, changed or stale gossip is refused and teaches nothing; client keys guard the chat endpoint', async () => {
    const { hashKey } = await import('../gateway/auth.js');
    const { SIGNATURE_HEADER, signBody } = await import('./signing.js');
    const secret = 'a-swarm-secret-of-32-characters!';
    const env = { SWARM_SECRET: secret };
    const auth = { auth: { secretEnv: 'SWARM_SECRET', keys: [{ name: 'app', sha256: hashKey('sk-client') }] } };
    const u = await start('u', 'small-1', [], auth, { env });
    const v = await start('v', 'small-2', [u.url], auth, { env });
    const client = new OpenAI({ baseURL: `${v.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual(['u', 'v']); // signed gossip went both ways
    // the chat endpoint wants a configured key
    const stranger = new OpenAI({ baseURL: `${v.url}/v1`, apiKey: 'sk-other', maxRetries: 0 });
    await expect(stranger.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    // gossip from outside the swarm
    const intruder = 'http://127.0.0.1:9'; // a URL the node must not learn (it would send requests there)
    const query = JSON.stringify({ kind: 'query', id: 'evil', origin: intruder, from: intruder, ttl: 1, deadline: Date.now() + 60_000, body: { messages: [{ role: 'user', content: 'run this on your model' }] } });
    const gossip = (headers: Record<string, string>, body = query): Promise<Response> => fetch(`${u.url}/edge/gossip`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{}, query, /missing/],
      [{ [SIGNATURE_HEADER]: signBody('another-secret-of-32-characters!', query, Date.now()) }, query, /bad signature/],
      [{ [SIGNATURE_HEADER]: signBody(secret, query, Date.now()) }, query.replace('run this', 'RUN THIS'), /bad signature/],
      [{ [SIGNATURE_HEADER]: signBody(secret, query, Date.now() - 120_000) }, query, /from this node's clock/],
      [{ [SIGNATURE_HEADER]: 't=1,v1=zz' }, query, /malformed/],
    ];
    for (const [headers, body, why] of cases) {
      const r = await gossip(headers, body);
      expect(r.status).toBe(401);
      const e = (await r.json()) as { error: { code: string; message: string } };
      expect(e.error.code).toBe('invalid_signature');
      expect(e.error.message).toMatch(why);
    }
    expect(u.peers).not.toContain(intruder);
    // signed with the secret, it is taken once; the same bytes sent again are a duplicate
    const signed = { [SIGNATURE_HEADER]: signBody(secret, query, Date.now()) };
    expect(await (await gossip(signed)).json()).toEqual({ accepted: true });
    expect(await (await gossip(signed)).json()).toEqual({ accepted: false });
    // a node named to use a secret that is not set refuses to start
    await expect(EdgeNode.create(parseEdgeConfig({ node: { id: 'w' }, model: { id: 'm', baseURL: upURL }, ...auth }), { logger: silent, env: {} })).rejects.toThrow(/SWARM_SECRET is not set/);
    await expect(EdgeNode.create(parseEdgeConfig({ node: { id: 'w' }, model: { id: 'm', baseURL: upURL }, ...auth }), { logger: silent, env: { SWARM_SECRET: 'short' } })).rejects.toThrow(/at least 16/);
  });

  it.skipIf(!hasOpenssl)('over mutual TLS: nodes holding certificates of the swarm CA gossip over HTTPS; nobody else can talk to a node', async () => {
    const pki = testPki();
    const tls = (name: string) => ({ ...pki.issue(name), caFile: pki.caFile, requireClientCert: true });
    const s = await start('s', 'small-1', [], { node: { id: 's', port: 0, tls: tls('s') } });
    const t = await start('t', 'small-2', [s.url], { node: { id: 't', port: 0, tls: tls('t') } });
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    // a client of the swarm holds a certificate of its CA too
    const app = pki.issue('app');
    const agent = (c: { certFile?: string; keyFile?: string }, ca = pki.caFile): Agent => new Agent({ connect: { ca: readFileSync(ca), ...(c.certFile ? { cert: readFileSync(c.certFile), key: readFileSync(c.keyFile as string) } : {}) } });
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0, fetchOptions: { dispatcher: agent(app) } as never });
    const { response } = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual(['s', 't']); // gossip went both ways, over TLS
    // no certificate, or one of another CA: the handshake fails before any request is read
    const outsider = testPki('another CA').issue('x');
    const ask = (dispatcher: Agent) => undiciFetch(`${s.url}/edge/gossip`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', dispatcher });
    await expect(ask(agent({}))).rejects.toThrow();
    await expect(ask(agent(outsider))).rejects.toThrow();
    expect((await ask(agent(app))).status).toBe(400); // a certificate of the swarm: heard (and the empty message refused)
    // a node with the CA's revocation list refuses a certificate revoked there (a lost laptop) once it
    // re-reads the list (SIGHUP: reloadTls), and still hears the others
    const lost = pki.issue('lost');
    const crlFile = pki.revoke(); // nothing revoked yet
    const r = await start('r', 'small-1', [], { node: { id: 'r', port: 0, tls: { ...tls('r'), crlFile } } });
    const askR = (dispatcher: Agent) => undiciFetch(`${r.url}/edge/gossip`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', dispatcher });
    expect((await askR(agent(lost))).status).toBe(400);
    pki.revoke('lost');
    expect(r.reloadTls()).toBe(true);
    await expect(askR(agent(lost))).rejects.toThrow();
    expect((await askR(agent(app))).status).toBe(400);
    expect(s.reloadTls()).toBe(true); // s has no list: its files read again all the same
    // a node whose certificate file cannot be read does not start, naming the setting
    await expect(EdgeNode.create(parseEdgeConfig({ node: { id: 'w', tls: { certFile: join(pki.dir, 'missing.crt'), keyFile: join(pki.dir, 'w.key') } }, model: { id: 'm', baseURL: upURL } }), { logger: silent })).rejects.toThrow(/node\.tls\.certFile: cannot read .*missing\.crt/);
  });

  it('learns from feedback: a bandit routing the swarm moves to the model whose answers are rated well, and keeps what it learned across a restart', async () => {
    const { createRouter } = await import('../routers/registry.js');
    const { buildMatrix } = await import('../data/load.js');
    const { writeFileSync, existsSync } = await import('node:fs');
    const router = createRouter('ucb1:bootstrap=false');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const file = join(dir, 'ucb1.json');
    writeFileSync(file, JSON.stringify(router.toArtifact()));
    const learnedState = join(dir, 'ucb1-learned.json');
    const routing = { routing: { router: file, lambda: 0, k: 1, models: ['small-1', 'small-2'], learnedState }, gossip: { fanout: 2, ttl: 3, windowMs: 600_000, maxProposals: 4 } };
    const p = await start('p1', 'small-1', []);
    const q = await start('q1', 'small-2', [p.url]);
    const origin = await start('o1', 'big-model', [q.url], routing);
    const ask = async (node: EdgeNode): Promise<{ id: string; model: string }> => {
      const r = await fetch(`${node.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }) });
      return { id: r.headers.get('x-request-id') as string, model: r.headers.get('x-switchyard-model') as string };
    };
    const rate = async (node: EdgeNode, id: string, score: number): Promise<unknown> => (await fetch(`${node.url}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: id, score }) })).json();
    const picks: string[] = [];
    for (let k = 0; k < 12; k++) {
      const a = await ask(origin);
      picks.push(a.model);
      expect(await rate(origin, a.id, a.model === 'small-2' ? 1 : 0)).toEqual({ request_id: a.id, recorded: true, router_updated: true });
    }
    expect(new Set(picks.slice(0, 2))).toEqual(new Set(['small-1', 'small-2'])); // each arm tried first
    expect(picks.slice(-4)).toEqual(['small-2', 'small-2', 'small-2', 'small-2']);
    expect(await (await fetch(`${origin.url}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: 'nope', score: 1 }) })).json()).toMatchObject({ error: { code: 'request_not_found' } });
    // what it learned survives a restart
    await origin.close();
    expect(existsSync(learnedState)).toBe(true);
    const again = await start('o2', 'big-model', [q.url], routing);
    expect((await ask(again)).model).toBe('small-2');
  });

  it('spreads feedback by gossip: a node that received no score routes by what the swarm learned', async () => {
    const { createRouter } = await import('../routers/registry.js');
    const { buildMatrix } = await import('../data/load.js');
    const { writeFileSync } = await import('node:fs');
    const router = createRouter('ucb1:bootstrap=false');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const file = join(dir, 'ucb1-shared.json');
    writeFileSync(file, JSON.stringify(router.toArtifact()));
    const routing = (shareFeedback: boolean) => ({ routing: { router: file, lambda: 0, k: 1, models: ['small-1', 'small-2'], shareFeedback }, gossip: { fanout: 3, ttl: 3, windowMs: 600_000, maxProposals: 4 } });
    const p = await start('p3', 'small-1', []);
    const q = await start('q3', 'small-2', [p.url]);
    const listener = await start('l3', 'big-model', [q.url], routing(true)); // gets no feedback itself
    const loner = await start('n3', 'big-model', [q.url], routing(false)); // does not take the swarm's feedback
    const rated = await start('r3', 'big-model', [listener.url, loner.url, q.url], routing(true));
    const ask = async (node: EdgeNode): Promise<{ id: string; model: string }> => {
      const r = await fetch(`${node.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }) });
      return { id: r.headers.get('x-request-id') as string, model: r.headers.get('x-switchyard-model') as string };
    };
    for (let k = 0; k < 12; k++) {
      const a = await ask(rated);
      await fetch(`${rated.url}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: a.id, score: a.model === 'small-2' ? 1 : 0 }) });
    }
    await new Promise((r) => setTimeout(r, 300)); // the last scores are still travelling
    // the listener learned from r3's scores: it goes straight to small-2; the loner, untaught, stays on its first untried arm
    expect([(await ask(listener)).model, (await ask(listener)).model]).toEqual(['small-2', 'small-2']);
    expect([(await ask(loner)).model, (await ask(loner)).model]).toEqual(['small-1', 'small-1']);
  });

  it('routes inside the swarm: only the nodes running the models the router picks propose; the origin answers alone when none of them does', async () => {
    const { createRouter } = await import('../routers/registry.js');
    const { buildMatrix } = await import('../data/load.js');
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const [decision] = await router.route([{ text: question.prompt }], { lambda: 0.5 });
    const pick = decision?.models[0] as string;
    const routing = { routing: { router: 'in-memory', lambda: 0.5, k: 1 } };
    const others = ['big-model', 'small-1', 'small-2', 'small-3'].filter((m) => m !== pick);
    const p = await start('p', pick, []);
    const q = await start('q', others[0] as string, [p.url]);
    // a window far longer than the test may take: the answer comes when the one wanted proposal is in
    const r = await start('r', others[1] as string, [q.url], { ...routing, gossip: { fanout: 2, ttl: 3, windowMs: 600_000, maxProposals: 4 } }, { router });
    const client = new OpenAI({ baseURL: `${r.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-wanted')).toBe(pick);
    expect(response.headers.get('x-switchyard-proposers')).toBe('p'); // q and r passed the query on without proposing
    expect(data.choices[0]?.message.content).toBe(answerOf(question.id, pick));
    // a router that wants a model no node runs: the origin's own model answers after the window
    const nobody = { ...router, route: async () => [{ models: ['gpt-9'], kind: 'single' as const, reason: 'test' }] } as typeof router;
    const s = await start('s', 'small-1', [p.url], routing, { router: nobody });
    const alone = await new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    expect(alone.response.headers.get('x-switchyard-proposers')).toBe('s');
    expect(alone.data.choices[0]?.message.content).toBe(answerOf(question.id, 'small-1'));
    // a router that fails (its embeddings service down): the request is answered unrouted, every node may propose
    const broken = { ...router, route: async () => Promise.reject(new Error('embeddings endpoint answered 503')) } as typeof router;
    const t = await start('t', 'small-2', [p.url], { ...routing, gossip: { fanout: 2, ttl: 3, windowMs: 1500, maxProposals: 2 } }, { router: broken });
    const unrouted = await new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    expect(unrouted.response.status).toBe(200);
    expect(unrouted.response.headers.get('x-switchyard-wanted')).toBeNull();
    expect(unrouted.response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual(['p', 't']);
    expect(await (await fetch(`${t.url}/metrics`)).text()).toContain('switchyard_edge_router_errors_total 1');
  });
});
