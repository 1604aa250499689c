/** The shape of results.json (documented in docs/results-schema.md). */
import type { Point } from './metrics.js';
import type { OnlineResult } from './online.js';

export interface CostQuality {
  readonly cost: number;
  readonly quality: number;
}

export interface SingleModelResult extends CostQuality {
  readonly model: string;
  /** Test prompts with a recorded outcome for this model. */
  readonly n: number;
}

export interface RouterPoint extends CostQuality {
  readonly lambda: number;
  /** Share of calls per model (models never chosen are left out). */
  readonly shares: Readonly<Record<string, number>>;
  readonly byTask: Readonly<Record<string, CostQuality>>;
}

export interface AiqDeltaCI {
  /** AIQ(router) − AIQ(mix hull) on the full split. */
  readonly delta: number;
  readonly low: number;
  readonly high: number;
  readonly level: number;
  readonly resamples: number;
}

export interface RouterResult {
  readonly name: string;
  readonly kind: string;
  readonly points: RouterPoint[];
  readonly hull: Point[];
  readonly aiq: number;
  readonly aiqDeltaCI: AiqDeltaCI | null;
  readonly qualityAtBestSingleCost: number | null;
  /** Cost to reach the best single model's quality, as a fraction of that model's cost; null if never. */
  readonly costToMatchBestSingle: number | null;
  readonly apgr?: number;
  readonly cpt50?: number | null;
  readonly cpt80?: number | null;
}

export interface TaskResult {
  readonly task: string;
  readonly n: number;
  readonly oracle: CostQuality;
  readonly singles: Readonly<Record<string, CostQuality>>;
}

export interface EvalResult {
  readonly schema: 'switchyard.eval/v1';
  readonly dataset: string;
  readonly split: 'test';
  readonly fitSplit: 'train';
  readonly prompts: number;
  readonly models: string[];
  /** Each model's prices (USD per million tokens) the costs are at: the dataset's, or `--prices`'s where it repriced them. */
  readonly prices: Readonly<Record<string, { readonly inputPricePerMTok: number; readonly outputPricePerMTok: number; readonly source?: string }>>;
  readonly lambdas: number[];
  readonly maxCost: number;
  readonly reference: {
    readonly oracle: CostQuality;
    readonly bestSingle: SingleModelResult;
    readonly cheapest: SingleModelResult;
    readonly mixHull: { readonly hull: Point[]; readonly aiq: number };
    readonly singles: SingleModelResult[];
    readonly twoModel?: { readonly strong: string; readonly weak: string };
  };
  readonly routers: RouterResult[];
  readonly tasks: TaskResult[];
  readonly seconds: { readonly routing: number; readonly metrics: number };
  /** Online replay of learners that update from feedback (`switchyard eval --online`). */
  online?: OnlineResult;
}
