/**
 * The routing-matrix nouns (format v1, see docs/data-format.md): what real LLMs did on real prompts.
 * Zod schemas guard the file boundary; the inferred types are exported for everyone else.
 */
import { z } from 'zod';

export const SPLITS = ['train', 'test'] as const;
export const SplitSchema = z.enum(SPLITS);
export type Split = z.infer<typeof SplitSchema>;

export const ScoreKindSchema = z.enum(['binary', 'judge', 'winrate']);
export type ScoreKind = z.infer<typeof ScoreKindSchema>;

export const ModelCardSchema = z.object({
  id: z.string().min(1),
  provider: z.string().optional(),
  inputPricePerMTok: z.number().nonnegative(),
  outputPricePerMTok: z.number().nonnegative(),
  priceSource: z.string().optional(),
});
export type ModelCard = z.infer<typeof ModelCardSchema>;

export const DatasetMetaSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    licence: z.string().optional(),
    scoreKind: ScoreKindSchema.optional(),
    costModel: z.string().optional(),
    models: z.array(ModelCardSchema).min(1),
    splits: z.record(z.string(), z.number().int().nonnegative()).optional(),
    splitSeed: z.number().int().nullable().optional(),
  })
  .loose();
export type DatasetMeta = z.infer<typeof DatasetMetaSchema>;

export const OutcomeSchema = z.object({
  score: z.number().min(0).max(1),
  costUsd: z.number().nonnegative(),
  inputTokens: z.number().int().nonnegative().optional(),
  outputTokens: z.number().int().nonnegative().optional(),
  rawScore: z.number().optional(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

export const MatrixRowSchema = z.object({
  id: z.string().min(1),
  prompt: z.string(),
  task: z.string().optional(),
  split: SplitSchema,
  outcomes: z.record(z.string(), OutcomeSchema),
});
export type MatrixRow = z.infer<typeof MatrixRowSchema>;

export const ResponseRowSchema = z.object({
  id: z.string().min(1),
  model: z.string().min(1),
  response: z.string(),
});
export type ResponseRow = z.infer<typeof ResponseRowSchema>;
