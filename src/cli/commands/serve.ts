import { readGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/server.js';
import { parse, requireString } from '../args.js';

const USAGE = `usage: switchyard serve --config switchyard.yaml

An OpenAI-compatible gateway: POST /v1/chat/completions with "model" naming a route (a trained
router + λ) or a configured model; GET /v1/models. See README for a complete config.`;

export async function runServe(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' } }, USAGE);
  // the on-disk embedding cache is for evaluation runs; serving keeps embeddings in memory only
  process.env['SWITCHYARD_CACHE_DIR'] = '';
  const config = readGatewayConfig(requireString(values, 'config', USAGE));
  const gateway = await Gateway.create(config);
  const url = await gateway.listen();
  process.stderr.write(`switchyard gateway listening on ${url} (routes: ${Object.keys(config.routes).join(', ') || 'none'}; models: ${Object.keys(config.models).join(', ')})\n`);
  const stop = (): void => void gateway.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
