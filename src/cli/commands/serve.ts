import cluster from 'node:cluster';
import { resolve as resolvePath } from 'node:path';
import { readGatewayConfig, workerCount, type ModelConfig } from '../../gateway/config.js';
import { supportsOf } from '../../gateway/capabilities.js';
import { workerLink } from '../../gateway/worker-link.js';
import { superviseWorkers } from '../../gateway/workers.js';
import { Gateway } from '../../gateway/server.js';
import { probeModels } from '../../gateway/probe.js';
import { DEFAULT_SERVICE_TIERS } from '../../gateway/prices.js';
import { describeStore, openStore } from '../../gateway/store/open-store.js';
import { RedisStore } from '../../gateway/store/redis-store.js';
import { orphanJournals, waitingIn } from '../../gateway/store/outbox.js';
import { invalidArgument } from '../../core/errors.js';
import { parse, requireString } from '../args.js';
import { structuredOf } from '../../gateway/providers/anthropic-structured.js';
import { thinkingOf } from '../../gateway/providers/anthropic-thinking.js';

/** Audio prices apart from text: ", audio $32 / $64". */
function audioOf(m: ModelConfig): string {
  const { audioInputPricePerMTok: i, audioOutputPricePerMTok: o } = m;
  return i === undefined && o === undefined ? '' : `, audio $${i ?? m.inputPricePerMTok} / $${o ?? m.outputPricePerMTok}`;
}

/** The service tiers the config prices beyond the default (flex ×0.5): ", priority ×2". */
function tiersOf(m: ModelConfig): string {
  const tiers = Object.entries(m.serviceTiers ?? {}).filter(([t, x]) => DEFAULT_SERVICE_TIERS[t] !== x);
  return tiers.length > 0 ? `, ${tiers.map(([t, x]) => `${t} ×${x}`).join(', ')}` : '';
}

const USAGE = `usage: switchyard serve --config switchyard.yaml [--check [--probe]]

An OpenAI-compatible gateway: POST /v1/chat/completions with "model" naming a route (a trained
router + λ) or a configured model; GET /v1/models. See README for a complete config.
--check loads everything (config, prices, router artifacts, store) as serving would, says what it
found and exits: 0 when the gateway would start, 2 with every problem listed when not.
--probe also asks every endpoint (each model, each deployment) for its model list with the
configured key, as the gateway would call it, and exits 2 when one does not answer 2xx.
With server.workers > 1 this process supervises that many gateway processes on the port (restarted
when one dies; SIGHUP and SIGTERM passed on to each; SIGUSR2 replaces them one at a time, each new
one reading the code and the whole config afresh, without a failed request).
SIGHUP reloads the config file without a restart — models, routes, keys, timeouts, retries, cache,
TLS certificates and revocation list,
logging (only server, store and timeouts.connectMs need one); a config that does not load leaves the
running one in force.`;

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' }, check: { type: 'boolean' }, probe: { type: 'boolean' } }, USAGE);
  if (values['probe'] && !values['check']) throw invalidArgument('--probe goes with --check');
  // the on-disk embedding cache is for evaluation runs; serving keeps embeddings in memory only
  process.env['SWITCHYARD_CACHE_DIR'] = '';
  const file = requireString(values, 'config', USAGE);
  const config = readGatewayConfig(file);
  const workers = workerCount(config.server.workers);
  const announce = (url: string, how = ''): void => void process.stderr.write(`switchyard gateway listening on ${url}${how} (routes: ${Object.keys(config.routes).join(', ') || 'none'}; models: ${Object.keys(config.models).join(', ')})\n`);
  if (!values['check'] && workers > 1 && cluster.isPrimary) {
    // the supervisor: N gateway processes on the port, restarted when one dies (workers.ts)
    const code = await superviseWorkers({ workers, say: (line) => void process.stderr.write(`${line}\n`), onListening: (url) => announce(url, ` with ${workers} workers`) });
    if (code !== 0) process.exit(code); // a worker's own message said why
    return;
  }
  // stop gracefully (drain, write the store's records) on a signal at any point from here on: one
  // that came before the handler was installed would kill the process with what it held in memory
  // (a worker may get two: SIGINT from the terminal and SIGTERM from its supervisor; it stops once)
  let gateway: Gateway | undefined;
  let stopping = false;
  let closing = false;
  const stop = (): void => {
    stopping = true;
    if (!gateway || closing) return;
    closing = true;
    // a worker exits only once its supervisor has answered for the connections it handed over (worker-link.ts)
    void gateway
      .close()
      .then(() => link?.farewell())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const link = values['check'] ? undefined : workerLink(() => gateway?.metrics.registry);
  gateway = await Gateway.create(config, { leaveOutbox: values['check'] === true, readConfig: () => readGatewayConfig(file), ...(link ? { cluster: link } : {}) });
  if (stopping) return stop();
  if (values['check']) {
    const storedKeys = gateway.keys.stored().length;
    const repriced = new Map(gateway.repricedRoutes().map((r) => [r.route, r.repriced]));
    await gateway.close();
    const models = Object.entries(config.models).map(([id, m]) => `  ${id}: ${m.provider ?? 'openai-compatible'}${m.platform && m.platform !== 'anthropic' ? ` on ${m.platform}` : ''} at ${m.deployments ? `${m.deployments.length} deployments (${m.deployments.map((d) => d.baseURL).join(', ')})` : m.baseURL}, $${m.inputPricePerMTok} / $${m.outputPricePerMTok} per M tokens in / out${(m.priceTiers ?? []).map((t) => ` ($${t.inputPricePerMTok} / $${t.outputPricePerMTok} above ${t.aboveInputTokens} tokens in)`).join('')}${audioOf(m)}${tiersOf(m)}${m.contextWindow ? `, context ${m.contextWindow} tokens` : ''}${m.maxOutputTokens ? `, at most ${m.maxOutputTokens} tokens out` : ''}${m.dropParams ? `, calls without ${m.dropParams.join(', ')}` : ''}${thinkingOf(id, m) ? `, thinks (${thinkingOf(id, m)}) on reasoning_effort` : ''}${m.promptCache ? ', prompt cache marked' : ''}${structuredOf(id, m) === 'native' ? ', native structured outputs' : ''}${Object.values(supportsOf(m) ?? {}).includes(false) ? `, without ${Object.entries(supportsOf(m) ?? {}).filter(([, v]) => v === false).map(([k]) => k).join(', ')}` : ''}`);
    const routes = Object.entries(config.routes).map(([id, r]) => `  ${id}: ${r.router}, λ ${r.lambda}${r.schedule.length > 0 ? ' (scheduled)' : ''}${r.budget ? ' (budget-controlled)' : ''}${r.shadow ? `, shadow ${r.shadow}` : ''}${r.canary ? `, canary ${r.canary.router} on ${100 * r.canary.share}% of requests` : ''}${r.sticky ? `, conversations kept on one model for ${r.sticky.ttlSeconds} s` : ''}${r.latency ? `, models slower than ${r.latency.maxFirstByteMs} ms to first byte (p${Math.round(r.latency.quantile * 100)}) tried last` : ''}${r.prices === 'router' ? ', at the prices it was trained with' : (repriced.get(id) ?? []).length > 0 ? `, at the config's prices (trained with ${(repriced.get(id) ?? []).map((p) => `${p.model} $${p.from.inputPricePerMTok} / $${p.from.outputPricePerMTok}`).join(', ')})` : ''}`);
    const store = describeStore(config.store);
    // records a stopped gateway left: in the outbox (a graceful stop), in journals (a killed process)
    const outbox = config.store.outbox === false ? undefined : resolvePath(config.store.outbox);
    const waiting = outbox ? [outbox, ...orphanJournals(outbox)].reduce((n, f) => n + waitingIn(f), 0) : 0;
    const extras = [workers > 1 ? `${workers} worker processes` : '', config.cache.enabled ? `answer cache (${config.cache.ttlSeconds} s)` : '', config.tracing ? 'tracing' : '', config.responses.store ? '' : 'no stored responses', config.store.encryption ? 'encrypted at rest' : '', config.server.tls ? `HTTPS${config.server.tls.requireClientCert ? ' with client certificates' : ''}` : '', config.auth.keys.length + storedKeys > 0 ? `${config.auth.keys.length} API keys in the config, ${storedKeys} made through the admin API` : 'no API keys (open to every caller)', config.auth.adminKeys.length > 0 ? 'admin API on' : '', waiting > 0 ? `${waiting} records in the outbox ${config.store.outbox} and its journals (written at the next start)` : ''].filter(Boolean);
    // variables a model reads its key or headers from, and that are not set here
    const warnings = Object.entries(config.models).flatMap(([id, m]) =>
      [m, ...(m.deployments ?? [])].flatMap((d, k) => {
        const where = k === 0 ? `models.${id}` : `models.${id}.deployments.${k - 1}`;
        const vars = [...(d.apiKeyEnv ? [[`${where}.apiKeyEnv`, d.apiKeyEnv]] : []), ...Object.entries(d.headerEnv ?? {}).map(([h, v]) => [`${where}.headerEnv.${h}`, v])];
        return vars.filter(([, v]) => !process.env[v as string]).map(([path, v]) => `  ${path}: ${v} is not set (calls will go without it)`);
      }),
    );
    // a route repriced far from its training: λ follows the config's prices, but a budget or target quality resolves on the curve measured at the trained ones
    for (const [route, changed] of repriced) {
      const far = changed.filter((c) => [c.to.inputPricePerMTok / c.from.inputPricePerMTok, c.to.outputPricePerMTok / c.from.outputPricePerMTok].some((r) => !(r > 0.8 && r < 1.25)));
      if (far.length > 0) warnings.push(`  routes.${route}: its router was trained at other prices for ${far.map((c) => c.model).join(', ')}; it routes at the config's, but a budget (x-switchyard-budget-usd) or target quality resolves on its curve at the trained prices — retrain with switchyard train … --prices <this config>`);
    }
    const wait = config.store.waitReplicas;
    if (wait) {
      // a write waits for replicas the master does not have: each would be counted unreplicated
      const redis = await openStore(config.store);
      const replicas = redis instanceof RedisStore ? await redis.connectedReplicas() : wait.replicas;
      await redis.close();
      if (replicas < wait.replicas) warnings.push(`  store.waitReplicas: asks for ${wait.replicas} replicas, the master has ${replicas} connected (a write would wait up to ${wait.timeoutMs} ms each second, and count as unreplicated)`);
    }
    if (warnings.length > 0) process.stderr.write(`warnings:\n${warnings.join('\n')}\n`);
    process.stdout.write(`config OK: ${models.length} models, ${routes.length} routes, store ${store}${extras.length > 0 ? `, ${extras.join(', ')}` : ''}, listening would be on ${config.server.host}:${config.server.port}\nmodels:\n${models.join('\n')}\n${routes.length > 0 ? `routes:\n${routes.join('\n')}\n` : ''}`);
    if (values['probe']) {
      const results = await probeModels(config.models, process.env, config.timeouts.connectMs);
      process.stdout.write(`probe (GET …/models with each model's key):\n${results.map((r) => `  ${r.ok ? 'ok  ' : 'FAIL'} ${r.target}: ${r.outcome} (${r.url})`).join('\n') || '  nothing to probe (replay models only)'}\n`);
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) throw invalidArgument(`--probe: ${failed.length} of ${results.length} endpoints did not answer: ${failed.map((r) => r.target).join(', ')}`);
    }
    return;
  }
  // SIGHUP (or POST /v1/admin/reload): the file read again and applied, one reload at a time; a bad config keeps the running one
  process.on('SIGHUP', () => {
    void (async () => {
      try {
        const r = await gateway.reloadConfig();
        const m = [...r.models.added.map((id) => `+${id}`), ...r.models.removed.map((id) => `-${id}`), ...r.models.changed.map((id) => `~${id}`)];
        process.stderr.write(`switchyard: reloaded ${file} (routes: ${r.routes.join(', ') || 'none'}${m.length > 0 ? `; models: ${m.join(' ')}` : ''})${r.tlsReloaded ? '; TLS certificates and revocation list re-read' : ''}${r.ignored.length > 0 ? `; changes to ${r.ignored.join(', ')} need a restart` : ''}\n`);
      } catch (e) {
        process.stderr.write(`switchyard: reload of ${file} failed, the running config stays: ${(e as Error).message}\n`);
      }
    })();
  });
  const url = await gateway.listen();
  if (link) link.listening(url);
  else announce(url);
}
