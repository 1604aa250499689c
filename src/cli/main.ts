#!/usr/bin/env node
/** The `switchyard` command line. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SwitchyardError } from '../core/errors.js';
import { routerFactory, routerKinds } from '../routers/registry.js';
import { runData } from './commands/data.js';
import { runDecisions, runKeys } from './commands/decisions.js';
import { runEval } from './commands/eval.js';
import { runReplayUpstream } from './commands/replay-upstream.js';
import { runServe } from './commands/serve.js';
import { runRoute } from './commands/route.js';
import { runTrain } from './commands/train.js';
import { runAddModel } from './commands/add-model.js';
import { runTrainScorer } from './commands/train-scorer.js';
import { runEdge } from './commands/edge.js';

const USAGE = `switchyard — route each LLM request to the model that gives the best quality per dollar

usage: switchyard <command> [options]   (--help on any command)

  eval          fit routers on train, replay them on test, write results.json + report.html
  data import   convert RouterBench CSVs or production logs to the routing-matrix format
  data inspect  summarise a dataset: prompts, models, splits, mean score and cost
  data collect  ask your prompts of every candidate model, grade the answers (LLM judge or reference), make a dataset
  train         fit a router on a dataset's train split and save it as a JSON artifact
  route         route one prompt with a saved router and explain the decision
  add-model     add a model to a trained cross-attention router from a few labelled prompts
  train-scorer  fit a response scorer on a dataset's recorded answers (soft routing's pick-one aggregator)
  serve         the OpenAI-compatible routing gateway
  decisions     the gateway's decision log (from its store)
  keys new      a new random API key and its auth.keys entry (keys hash K: the sha256 of a key)
  replay-upstream  an OpenAI-compatible server answering with recorded responses (tests, benchmarks)
  edge serve    a node of the distributed mixture-of-agents (local model, gossip with peers)
  edge eval     replay a swarm of small models on a dataset's recorded answers
  routers       list the available routers`;

const COMMANDS: Readonly<Record<string, (argv: string[]) => Promise<void>>> = {
  eval: runEval,
  data: runData,
  train: runTrain,
  route: runRoute,
  'add-model': runAddModel,
  'train-scorer': runTrainScorer,
  serve: runServe,
  decisions: runDecisions,
  keys: runKeys,
  'replay-upstream': runReplayUpstream,
  edge: runEdge,
  routers: async () => {
    for (const k of routerKinds()) process.stdout.write(`${k.padEnd(16)} ${routerFactory(k).summary}\n`);
  },
};

export async function main(argv: string[]): Promise<number> {
  // Embeddings are cached on disk across runs (set SWITCHYARD_CACHE_DIR to move it, or to '' to turn it off).
  process.env['SWITCHYARD_CACHE_DIR'] ??= join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'switchyard');
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    }
    const run = COMMANDS[cmd];
    if (!run) {
      process.stderr.write(`switchyard: unknown command "${cmd}"\n\n${USAGE}\n`);
      return 2;
    }
    await run(rest);
    return 0;
  } catch (e) {
    if (e instanceof SwitchyardError) {
      process.stderr.write(`switchyard: error [${e.code}]: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** A gateway worker (`server.workers`) that failed: its IPC channel to the supervisor would keep it running, so it exits. */
const exitIfWorker = (code: number): void => {
  if (code !== 0 && process.connected) process.exit(code);
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    exitIfWorker(code);
  },
  (e: unknown) => {
    process.stderr.write(`switchyard: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
    exitIfWorker(1);
  },
);
