/** `switchyard edge` through the built CLI: the swarm replay on recorded answers, a node from its config, clear errors. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticDir } from './helpers/synthetic.js';

const CLI = resolve('dist/src/cli/main.js');
const run = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('switchyard edge', () => {
  it('replays a swarm of models on a dataset\'s recorded answers', () => {
    const data = syntheticDir({ prompts: 240, answers: true });
    const json = join(mkdtempSync(join(tmpdir(), 'sy-edge-cli-')), 'swarm.json');
    const r = run(['edge', 'eval', '--data', data, '--models', 'small-1,small-2,small-3', '--drop', '0,0.3', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/swarm of 3, 0% of proposals lost: scorer picks +0\.\d{3} +3\.00/);
    expect(r.stdout).toMatch(/swarm of 3, 30% of proposals lost: best answer \(bound\)/);
    const routed = run(['edge', 'eval', '--data', data, '--models', 'small-1,small-2,small-3', '--drop', '0', '--router', 'linear:encoder=hashing:dim=256', '--k', '2', '--lambda', '0']);
    expect(routed.status, routed.stderr).toBe(0);
    expect(routed.stdout).toMatch(/routed swarm \(linear:encoder=hashing:dim=256 picks 2 of 3 at λ 0\), 0% of proposals lost: scorer picks +0\.\d{3} +2\.00/);
  });

  it('names what is wrong: a missing subcommand, a bad drop rate, an unknown model, a bad config', () => {
    const data = syntheticDir({ prompts: 80, answers: true });
    expect(run(['edge']).stderr).toMatch(/expected "serve" or "eval"/);
    const drop = run(['edge', 'eval', '--data', data, '--drop', '1.5']);
    expect(drop.status).toBe(2);
    expect(drop.stderr).toMatch(/--drop: expected probabilities in \[0, 1\)/);
    expect(run(['edge', 'eval', '--data', data, '--models', 'small-1,gpt-9']).stderr).toMatch(/"gpt-9" is not a model/);
    const config = join(mkdtempSync(join(tmpdir(), 'sy-edge-cfg-')), 'edge.yaml');
    writeFileSync(config, 'node:\n  id: a\nmodel:\n  id: m\ngossip:\n  fanout: 0\n');
    const bad = run(['edge', 'serve', '--config', config]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/gossip\.fanout/);
  });

  it('reads the example config', async () => {
    const { readEdgeConfig } = await import('../src/edge/config.js');
    const c = readEdgeConfig('examples/edge.yaml');
    expect(c).toMatchObject({ node: { id: 'kitchen-pi', port: 9100 }, model: { id: 'llama3.2:3b' }, gossip: { fanout: 3, ttl: 3 }, aggregate: { kind: 'local' }, auth: { secretEnv: 'SWARM_SECRET', maxSkewMs: 30_000 } });
  });

  it('serves a node from its config file until SIGTERM', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'sy-edge-cfg-')), 'edge.yaml');
    writeFileSync(config, 'node:\n  id: solo\n  port: 0\nmodel:\n  id: tiny\n  baseURL: http://127.0.0.1:9/v1\n');
    const child = spawn(process.execPath, [CLI, 'edge', 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolveUrl, reject) => {
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /listening on (http:\/\/\S+);/.exec(err);
        if (m) resolveUrl(m[1] as string);
      });
      child.once('exit', () => reject(new Error(err)));
    });
    const health = (await (await fetch(`${url}/health`)).json()) as { node: string; model: string };
    expect(health).toMatchObject({ node: 'solo', model: 'tiny' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
