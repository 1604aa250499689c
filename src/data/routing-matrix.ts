/**
 * RoutingMatrix: a dataset held column-wise in typed arrays (prompt-major, model-minor), so that
 * replay over 12k prompts x 32 models x many routers stays allocation-free.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetMeta, ModelCard, Split } from '../spec/dataset.js';
import type { RecordedAnswer, TrainingData } from '../spec/router.js';
import { streamResponses } from './responses.js';

export interface MatrixColumns {
  readonly ids: readonly string[];
  readonly prompts: readonly string[];
  readonly tasks: readonly string[];
  readonly splits: readonly Split[];
  /** n x m, NaN where a model has no recorded outcome. */
  readonly scores: Float64Array;
  readonly costs: Float64Array;
  readonly inputTokens: Float64Array;
  readonly outputTokens: Float64Array;
}

export class RoutingMatrix {
  readonly meta: DatasetMeta;
  readonly models: readonly ModelCard[];
  readonly modelIds: readonly string[];
  readonly cols: MatrixColumns;
  readonly dir: string | undefined;
  private readonly modelIndexById: Map<string, number>;

  constructor(meta: DatasetMeta, cols: MatrixColumns, dir?: string) {
    this.meta = meta;
    this.models = meta.models;
    this.modelIds = meta.models.map((m) => m.id);
    this.cols = cols;
    this.dir = dir;
    this.modelIndexById = new Map(this.modelIds.map((id, i) => [id, i]));
  }

  get size(): number {
    return this.cols.ids.length;
  }

  get modelCount(): number {
    return this.models.length;
  }

  modelIndex(id: string): number | undefined {
    return this.modelIndexById.get(id);
  }

  /** Prompt indices of one split (all prompts when `split` is undefined). */
  indicesOf(split?: Split): Int32Array {
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) if (split === undefined || this.cols.splits[i] === split) out.push(i);
    return Int32Array.from(out);
  }

  view(split?: Split): MatrixView {
    return new MatrixView(this, this.indicesOf(split));
  }
}

/** A subset of a matrix's prompts (a split), addressed 0..size-1. Implements the router's TrainingData. */
export class MatrixView implements TrainingData {
  readonly matrix: RoutingMatrix;
  readonly indices: Int32Array;
  readonly models: readonly ModelCard[];

  constructor(matrix: RoutingMatrix, indices: Int32Array) {
    this.matrix = matrix;
    this.indices = indices;
    this.models = matrix.models;
  }

  get size(): number {
    return this.indices.length;
  }

  /** Row of prompt i in the underlying matrix. */
  row(i: number): number {
    return this.indices[i] as number;
  }

  private at(arr: Float64Array, i: number, m: number): number {
    return arr[this.row(i) * this.matrix.modelCount + m] as number;
  }

  text(i: number): string {
    return this.matrix.cols.prompts[this.row(i)] as string;
  }
  id(i: number): string {
    return this.matrix.cols.ids[this.row(i)] as string;
  }
  task(i: number): string {
    return this.matrix.cols.tasks[this.row(i)] as string;
  }
  score(i: number, m: number): number {
    return this.at(this.matrix.cols.scores, i, m);
  }
  cost(i: number, m: number): number {
    return this.at(this.matrix.cols.costs, i, m);
  }
  inputTokens(i: number, m: number): number {
    return this.at(this.matrix.cols.inputTokens, i, m);
  }
  outputTokens(i: number, m: number): number {
    return this.at(this.matrix.cols.outputTokens, i, m);
  }
  /** The recorded answers of this view's prompts (`responses.jsonl.gz`; none when the dataset has no texts). */
  async answers(): Promise<RecordedAnswer[]> {
    const dir = this.matrix.dir;
    if (dir === undefined || !existsSync(join(dir, 'responses.jsonl.gz'))) return [];
    const rowOf = new Map<string, number>();
    for (let i = 0; i < this.size; i++) rowOf.set(this.id(i), i);
    const out: RecordedAnswer[] = [];
    for await (const r of streamResponses(dir)) {
      const i = rowOf.get(r.id);
      const m = this.matrix.modelIndex(r.model);
      if (i !== undefined && m !== undefined) out.push({ i, m, text: r.response });
    }
    return out;
  }

  /** Models with a recorded outcome on prompt i. */
  available(i: number): string[] {
    const out: string[] = [];
    for (let m = 0; m < this.matrix.modelCount; m++) {
      if (!Number.isNaN(this.score(i, m))) out.push(this.matrix.modelIds[m] as string);
    }
    return out;
  }
}
