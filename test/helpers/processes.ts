/** Real processes for end-to-end tests: the built CLI's servers and a throwaway redis-server. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve('dist/src/cli/main.js');

export interface Running {
  readonly proc: ChildProcess;
  /** The first capture group of the readiness line (e.g. the URL). */
  readonly ready: string;
  /** Everything the process wrote to stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a process and resolves when a line of its stderr/stdout matches `readyLine`. */
export function startProcess(command: string, args: readonly string[], readyLine: RegExp, timeoutMs = 30_000): Promise<Running> {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const stop = (): Promise<void> =>
    new Promise((done) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return done();
      proc.once('exit', () => done());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => void stop().then(() => fail(new Error(`${command} ${args.join(' ')} not ready in ${timeoutMs} ms:\n${text}`))), timeoutMs);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const m = readyLine.exec(text);
      if (m) {
        clearTimeout(timer);
        ok({ proc, ready: m[1] ?? m[0], output: () => text, stop });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${command} exited (${code}) before it was ready:\n${text}`));
    });
  });
}

/** `switchyard <args>` as a server process; resolves with the URL it prints. */
export function startCli(args: readonly string[]): Promise<Running> {
  return startProcess(process.execPath, [CLI, ...args], /listening on (http:\/\/\S+)/);
}

export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
/** redis-cli builds the Redis Cluster tests run on (Debian's redis-tools, installed with redis-server). */
export const hasRedisCluster = hasRedis && spawnSync('redis-cli', ['--version']).status === 0;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A redis-server (on a free port, or `port`: to restart one) with no persistence; resolves with its redis:// URL. */
export async function startRedis(port?: number): Promise<Running> {
  port ??= await freePort();
  const r = await startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
  return { ...r, ready: `redis://127.0.0.1:${port}` };
}

/**
 * A Redis Cluster on `ports`, in a fresh folder: three masters, or with `replicas: 1` three masters
 * and a replica of each (six ports; a node missing for `nodeTimeoutMs` fails over to its replica).
 * Resolves when the cluster says its state is ok (every slot served) and every replica has synced.
 * Needs redis-cli (Debian's redis-tools, which redis-server depends on).
 */
export async function startRedisCluster(ports: readonly number[], options: { replicas?: 0 | 1; nodeTimeoutMs?: number } = {}): Promise<Running[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-redis-cluster-'));
  const nodes: Running[] = [];
  const timeout = options.nodeTimeoutMs !== undefined ? ['--cluster-node-timeout', String(options.nodeTimeoutMs)] : [];
  for (const port of ports) {
    nodes.push(await startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no', ...timeout], /Ready to accept connections/));
  }
  const made = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(options.replicas ?? 0), '--cluster-yes'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`redis-cli --cluster create failed: ${made.stdout}${made.stderr}`);
  const cli = (port: number, ...args: string[]): string => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout;
  for (let k = 0; k < 200; k++) {
    const ok = cli(ports[0] as number, 'cluster', 'info').includes('cluster_state:ok');
    const replicasSynced = ports.every((p) => !cli(p, 'role').startsWith('slave') || cli(p, 'info', 'replication').includes('master_link_status:up'));
    if (ok && replicasSynced) return nodes;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const n of nodes) await n.stop();
  throw new Error('the Redis cluster did not reach cluster_state:ok with its replicas synced in 20 s');
}
