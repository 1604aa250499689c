/**
 * `rules`: declarative tiers, the router production teams start with. Each tier has conditions
 * (keywords, a regex, a token-length range) and a list of models; the first tier whose conditions
 * all hold answers, and λ walks its list from the dearest model (λ = 0) to the cheapest (λ = 1).
 * Lists are ordered by mean cost on train, so cost never rises with λ. Without a config, one tier
 * holds every model (a price ladder).
 */
import { routingText } from '../../core/long-text.js';
import { z } from 'zod';
import { readConfigFile, validateConfig } from '../../core/config-file.js';
import { SwitchyardError } from '../../core/errors.js';
import { modelStats } from '../../data/stats.js';
import type { Decision, PromptInput, RoutePrefs, RouterArtifact, TrainingData } from '../../spec/router.js';
import { expectArtifact, parseState } from '../artifact.js';
import { BaseRouter } from '../base.js';
import { CostModel } from '../cost-model.js';

export const RulesConfigSchema = z.strictObject({
  tiers: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        when: z
          .object({
            keywords: z.array(z.string().min(1)).optional(),
            regex: z.string().optional(),
            minTokens: z.number().int().nonnegative().optional(),
            maxTokens: z.number().int().positive().optional(),
          })
          .default({}),
        models: z.array(z.string().min(1)).min(1),
      }),
    )
    .default([]),
  default: z.array(z.string().min(1)).min(1).optional(),
});
export type RulesConfig = z.infer<typeof RulesConfigSchema>;

const StateSchema = z.object({ config: RulesConfigSchema, meanCost: z.record(z.string(), z.number()) });

interface CompiledTier {
  readonly name: string;
  readonly test: (text: string, tokens: () => number) => boolean;
  readonly models: string[];
}

export class RulesRouter extends BaseRouter {
  readonly kind = 'rules';
  readonly version = 1;
  private rules: RulesConfig;
  private meanCost: Record<string, number> = {};
  private tiers: CompiledTier[] = [];

  constructor(config: RulesConfig | string = { tiers: [] }) {
    super();
    this.rules = typeof config === 'string' ? readConfigFile(config, RulesConfigSchema) : validateConfig(config, RulesConfigSchema, 'rules');
  }

  protected async fitModels(train: TrainingData): Promise<void> {
    for (const s of modelStats(train)) this.meanCost[s.model] = Number.isNaN(s.meanCost) ? 0 : s.meanCost;
    this.compile();
  }

  private compile(): void {
    const byCost = (list: readonly string[]): string[] => {
      for (const id of list) this.modelIndex(id);
      return [...list].sort((a, b) => (this.meanCost[b] ?? 0) - (this.meanCost[a] ?? 0));
    };
    this.tiers = this.rules.tiers.map((t) => {
      let re: RegExp | undefined;
      try {
        re = t.when.regex !== undefined ? new RegExp(t.when.regex, 'i') : undefined;
      } catch (e) {
        throw new SwitchyardError('invalid_argument', `rules: tier "${t.name}": bad regex: ${(e as Error).message}`);
      }
      const words = (t.when.keywords ?? []).map((k) => k.toLowerCase());
      const { minTokens, maxTokens } = t.when;
      return {
        name: t.name,
        models: byCost(t.models),
        test: (text, tokens) => {
          if (words.length > 0) {
            const lower = text.toLowerCase();
            if (!words.some((w) => lower.includes(w))) return false;
          }
          if (re && !re.test(text)) return false;
          if (minTokens !== undefined && tokens() < minTokens) return false;
          if (maxTokens !== undefined && tokens() > maxTokens) return false;
          return true;
        },
      };
    });
    this.tiers.push({ name: 'default', models: byCost(this.rules.default ?? this.models), test: () => true });
  }

  protected async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const base = this.prefsMask(prefs);
    return prompts.map((p) => {
      const mask = this.allowedMask(p, prefs, base);
      let count: number | undefined;
      const tokens = (): number => (count ??= CostModel.countTokens(p.text));
      const text = routingText(p.text); // keywords and regexes read a very long prompt's head and tail
      const tier = this.tiers.find((t) => t.test(text, tokens)) as CompiledTier;
      const allowed = tier.models.filter((id) => mask[this.modelIndex(id)] === 1);
      if (allowed.length > 0) {
        const id = allowed[Math.round(prefs.lambda * (allowed.length - 1))] as string;
        return { models: [id], kind: 'single', reason: `rules: tier "${tier.name}" → ${id} (λ=${prefs.lambda} along ${allowed.join(' > ')})` };
      }
      const fallback = [...this.models].filter((id) => mask[this.modelIndex(id)] === 1).sort((a, b) => (this.meanCost[a] ?? 0) - (this.meanCost[b] ?? 0));
      const id = fallback[Math.round((1 - prefs.lambda) * (fallback.length - 1))] as string;
      return { models: [id], kind: 'single', reason: `rules: tier "${tier.name}" has no candidate model; fell back to ${id}` };
    });
  }

  protected config(): Record<string, unknown> {
    return {};
  }

  protected state(): unknown {
    return { config: this.rules, meanCost: this.meanCost };
  }

  static fromArtifact(a: RouterArtifact): RulesRouter {
    expectArtifact(a, 'rules', 1);
    const s = parseState(StateSchema, a.state, 'rules');
    const r = new RulesRouter(s.config);
    r.setModels(a.models);
    r.meanCost = s.meanCost;
    r.compile();
    return r;
  }
}
