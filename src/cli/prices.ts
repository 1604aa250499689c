/** `--prices FILE` for the CLI commands: a gateway config's models are read as the gateway reads them (prices filled from the table). */
import { readGatewayConfig, type ModelConfig } from '../gateway/config.js';

export function configModels(file: string): Readonly<Record<string, ModelConfig>> {
  return readGatewayConfig(file).models;
}
