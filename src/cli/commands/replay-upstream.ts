import { invalidArgument } from '../../core/errors.js';
import { loadDataset } from '../../data/load.js';
import { ReplayData } from '../../gateway/replay-upstream/replay-data.js';
import { ReplayUpstream, type Fault } from '../../gateway/replay-upstream/server.js';
import { numberFlag, parse, requireString } from '../args.js';

const USAGE = `usage: switchyard replay-upstream --data DIR [--port N] [--host H] [--latency-ms N] [--chunk-ms N]
                                 [--fault-rate R --faults 503,429,timeout,reset,cut] [--seed N]

An OpenAI-compatible server (POST /v1/chat/completions, GET /v1/models) answering with the recorded
response of the requested model for the requested prompt, with its real token usage. A request may
also ask for a fault with the header x-replay-fault: 503 | 429 | timeout | reset | cut.`;

export async function runReplayUpstream(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    { data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'latency-ms': { type: 'string' }, 'chunk-ms': { type: 'string' }, 'fault-rate': { type: 'string' }, faults: { type: 'string' }, seed: { type: 'string' } },
    USAGE,
  );
  const data = requireString(values, 'data', USAGE);
  const port = numberFlag(values, 'port', 8090, (v) => Number.isInteger(v) && v >= 0 && v < 65536, 'a port number');
  const latencyMs = numberFlag(values, 'latency-ms', 0, (v) => v >= 0, 'milliseconds ≥ 0');
  const chunkDelayMs = numberFlag(values, 'chunk-ms', 0, (v) => v >= 0, 'milliseconds ≥ 0');
  const faultRate = numberFlag(values, 'fault-rate', 0, (v) => v >= 0 && v <= 1, 'a rate in [0, 1]');
  const seed = numberFlag(values, 'seed', 0, Number.isInteger, 'an integer');
  const faults = typeof values['faults'] === 'string' ? (values['faults'].split(',').map((f) => f.trim()) as Fault[]) : [];
  for (const f of faults) if (!/^(timeout|reset|cut|[1-5][0-9][0-9])$/.test(f)) throw invalidArgument(`--faults: unknown fault "${f}" (an HTTP status, timeout, reset or cut)`);
  if (faultRate > 0 && faults.length === 0) throw invalidArgument('--fault-rate needs --faults');
  const replay = await ReplayData.load(loadDataset(data));
  const server = new ReplayUpstream(replay, { latencyMs, chunkDelayMs, faultRate, faults, seed });
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const url = await server.listen(port, typeof values['host'] === 'string' ? values['host'] : '127.0.0.1');
  process.stderr.write(`replay upstream for ${replay.matrix.meta.name} (${replay.matrix.size} prompts × ${replay.models.length} models) listening on ${url}\n`);
}
