/** The router most gateway tests serve: kNN on a 256-wide hashing encoder, fitted on a synthetic dataset's train split and saved as a route's artifact. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMatrix } from '../../src/data/load.js';
import { createRouter } from '../../src/routers/registry.js';
import type { DatasetMeta, MatrixRow } from '../../src/spec/dataset.js';
import type { Router } from '../../src/spec/router.js';

export interface FittedRouter {
  readonly router: Router;
  /** The artifact file (`dir/knn.json`), for `routes.X.router`. */
  readonly artifact: string;
  /** The model the router picks for `prompt` at `lambda`. */
  readonly choice: string;
}

export async function fitKnnRoute(meta: DatasetMeta, rows: readonly MatrixRow[], dir: string, prompt: string, lambda = 0): Promise<FittedRouter> {
  const router = createRouter('knn:encoder=hashing:dim=256');
  await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
  const artifact = join(dir, 'knn.json');
  writeFileSync(artifact, JSON.stringify(router.toArtifact()));
  const choice = (await router.route([{ text: prompt }], { lambda }))[0]?.models[0] as string;
  return { router, artifact, choice };
}
