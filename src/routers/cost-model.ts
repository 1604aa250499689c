/**
 * Predicted cost of a call before it is made: input tokens (cl100k) x input price + the model's
 * typical output tokens (train mean) x output price, times a per-model correction fitted on train so
 * that predicted and recorded costs agree on average.
 */
import { countLong } from '../core/long-text.js';
import { remember } from '../core/lru.js';
import { z } from 'zod';
import { tokens } from '../data/import/common.js';
import type { ModelCard } from '../spec/dataset.js';
import type { TrainingData } from '../spec/router.js';

export const CostModelStateSchema = z.object({
  meanOutputTokens: z.array(z.number()),
  correction: z.array(z.number()),
  scale: z.number().positive(),
});
export type CostModelState = z.infer<typeof CostModelStateSchema>;

/** Token counts of recent prompts (insertion-ordered, oldest dropped); long prompts are not kept. */
const tokenMemo = new Map<string, number>();
const TOKEN_MEMO_ENTRIES = 4096;
const TOKEN_MEMO_MAX_CHARS = 8192;

export class CostModel {
  readonly cards: readonly ModelCard[];
  readonly state: CostModelState;

  constructor(cards: readonly ModelCard[], state: CostModelState) {
    this.cards = cards;
    this.state = state;
  }

  /** Fits on train; `inputTokens[i]` = tokens of prompt i as counted at routing time. */
  static fit(train: TrainingData, inputTokens: Float64Array): CostModel {
    const M = train.models.length;
    const meanOut: number[] = [];
    const correction: number[] = [];
    const meanCost: number[] = [];
    for (let m = 0; m < M; m++) {
      let outSum = 0;
      let outN = 0;
      let costSum = 0;
      let n = 0;
      for (let i = 0; i < train.size; i++) {
        if (Number.isNaN(train.score(i, m))) continue;
        costSum += train.cost(i, m);
        n++;
        const o = train.outputTokens(i, m);
        if (!Number.isNaN(o)) {
          outSum += o;
          outN++;
        }
      }
      meanOut.push(outN > 0 ? outSum / outN : 0);
      meanCost.push(n > 0 ? costSum / n : 0);
      const card = train.models[m] as ModelCard;
      let predSum = 0;
      for (let i = 0; i < train.size; i++) {
        if (Number.isNaN(train.score(i, m))) continue;
        predSum += ((inputTokens[i] as number) * card.inputPricePerMTok + (meanOut[m] as number) * card.outputPricePerMTok) / 1e6;
      }
      correction.push(predSum > 0 && costSum > 0 ? costSum / predSum : 1);
    }
    const scale = Math.max(...meanCost, 1e-12);
    return new CostModel(train.models, { meanOutputTokens: meanOut, correction, scale });
  }

  get scale(): number {
    return this.state.scale;
  }

  /** Writes the predicted cost of every model for a prompt of `inputTokens` tokens into out[offset..]. */
  predict(inputTokens: number, out: Float64Array, offset = 0): void {
    this.cards.forEach((card, m) => {
      out[offset + m] =
        ((inputTokens * card.inputPricePerMTok + (this.state.meanOutputTokens[m] as number) * card.outputPricePerMTok) / 1e6) * (this.state.correction[m] as number);
    });
  }

  /**
   * cl100k tokens of a prompt, remembered for recently seen prompts: counting costs ~30 µs a
   * prompt in a busy server (lookups in the 100k-entry rank table miss the CPU cache), a hit ~1 µs.
   */
  static countTokens(text: string): number {
    if (text.length > TOKEN_MEMO_MAX_CHARS) return countLong(text, tokens); // a prompt of megabytes: estimated from its head and tail
    let n = tokenMemo.get(text);
    if (n === undefined) {
      n = tokens(text);
      remember(tokenMemo, text, n, TOKEN_MEMO_ENTRIES);
    }
    return n;
  }
}
