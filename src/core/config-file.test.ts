import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../gateway/config.js';
import { readConfigFile } from './config-file.js';

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cfg-'));
  const write = (text: string): string => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it('take environment variables in string values, with defaults and an escape; a whole number or boolean stays one', () => {
    // unquoted in block style; quoted in a flow map (where { starts a map)
    const file = write('server:\n  host: ${HOST:-0.0.0.0}\n  port: ${PORT}\n  encoderWorker: ${WORKER}\nmodels:\n  m: { baseURL: "${VLLM_URL}/v1", upstreamModel: "$${NOT_A_VAR}", inputPricePerMTok: "${PRICE}", outputPricePerMTok: 2 }\n');
    const c = readConfigFile(file, GatewayConfigSchema, { PORT: '9090', VLLM_URL: 'http://gpu-1:8000', WORKER: 'false', PRICE: '0.5' });
    expect(c.server).toMatchObject({ host: '0.0.0.0', port: 9090, encoderWorker: false });
    expect(c.models['m']).toMatchObject({ baseURL: 'http://gpu-1:8000/v1', upstreamModel: '${NOT_A_VAR}', inputPricePerMTok: 0.5 });
  });

  it('say how to fix an unquoted ${NAME} inside { … }, which YAML reads as a map', () => {
    const file = write('server: { port: ${PORT} }\nmodels:\n  m: { baseURL: "http://x/v1", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n');
    expect(() => readConfigFile(file, GatewayConfigSchema, { PORT: '1' })).toThrow(/must be quoted: port: "\$\{PORT\}"/);
    const other = write('server: { port: [1 }\n'); // another parse error: no such hint
    expect(() => readConfigFile(other, GatewayConfigSchema, {})).not.toThrow(/must be quoted/);
  });

  it('name every unset variable with its path', () => {
    const file = write('server: { port: "${PORT}" }\nmodels:\n  m: { baseURL: "${VLLM_URL}/v1", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n');
    expect(() => readConfigFile(file, GatewayConfigSchema, {})).toThrow(/server\.port: \$\{PORT\} is not set[\s\S]*models\.m\.baseURL: \$\{VLLM_URL\} is not set/);
  });
});
