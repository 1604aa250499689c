/**
 * `ensemble`: the mean of several predictors' calibrated quality predictions (default kNN + linear),
 * then calibrated and put on a λ scale of its own like any predictor. Averaging models that err
 * differently (local neighbours vs a global linear fit) lowers the variance of q̂ — what the
 * routing decision is most sensitive to.
 */
import { z } from 'zod';
import { SwitchyardError } from '../../core/errors.js';
import type { FitContext, PromptInput, RouterArtifact } from '../../spec/router.js';
import { parseArtifact, parseState } from '../artifact.js';
import { PredictorRouter, predictorConfig, type PredictorOptions } from '../predictor.js';

export interface EnsembleOptions extends PredictorOptions {
  /** Member router specs (each a predictor), e.g. ['knn', 'linear']. */
  readonly members?: readonly string[];
}

/** Creating and loading members goes through the registry, injected to avoid an import cycle. */
export interface MemberFactory {
  create(spec: string): PredictorRouter;
  load(a: RouterArtifact): Promise<PredictorRouter>;
}

let factory: MemberFactory | undefined;
export function setEnsembleMemberFactory(f: MemberFactory): void {
  factory = f;
}

const StateSchema = z.object({ members: z.array(z.unknown()).min(1) });

export class EnsembleRouter extends PredictorRouter {
  readonly kind = 'ensemble';
  readonly version = 1;
  private memberSpecs: string[];
  private members: PredictorRouter[] = [];

  constructor(options: EnsembleOptions = {}) {
    super(options);
    this.memberSpecs = [...(options.members ?? ['knn', 'linear'])];
    if (this.memberSpecs.length === 0) throw new SwitchyardError('invalid_argument', 'ensemble: at least one member is required');
  }

  protected async fitQuality(_X: readonly Float32Array[], Y: Float64Array, ctx: FitContext): Promise<Float64Array> {
    if (!factory) throw new SwitchyardError('invalid_argument', 'ensemble: no member factory registered');
    const train = this.fitting!;
    const M = this.cards.length;
    this.members = [];
    for (const spec of this.memberSpecs) {
      const withEncoder = spec.includes('encoder=') ? spec : `${spec}${spec.includes(':') ? ';' : ':'}encoder=${this.encoderSpec}`;
      const m = factory.create(withEncoder.includes('strip=') ? withEncoder : `${withEncoder};strip=${this.strip}`);
      await m.fit(train, ctx);
      this.members.push(m);
    }
    const oof = new Float64Array(Y.length);
    for (let k = 0; k < oof.length; k++) {
      let s = 0;
      let ok = true;
      for (const m of this.members) {
        const v = (m.oofCalibrated as Float64Array)[k] as number;
        if (Number.isNaN(v)) ok = false;
        s += v;
      }
      oof[k] = ok ? s / this.members.length : Number.NaN;
    }
    ctx.log?.(`ensemble: ${this.memberSpecs.join(' + ')}; ${oof.filter((v, k) => k % M === 0 && !Number.isNaN(v)).length} rows with every member's out-of-fold prediction`);
    return oof;
  }

  protected predictQuality(): void {
    throw new SwitchyardError('invalid_argument', 'ensemble: predictions come from its members');
  }

  protected override async rawQuality(prompts: readonly PromptInput[]): Promise<Float64Array> {
    const parts = await Promise.all(this.members.map((m) => m.predict(prompts)));
    const q = new Float64Array((parts[0] as { q: Float64Array }).q.length);
    for (const p of parts) for (let k = 0; k < q.length; k++) q[k] = (q[k] as number) + (p.q[k] as number) / parts.length;
    return q;
  }

  protected familyConfig(): Record<string, unknown> {
    return { members: this.memberSpecs };
  }

  protected familyState(): unknown {
    return { members: this.members.map((m) => m.toArtifact()) };
  }

  protected restoreFamily(): void {}

  static async fromArtifact(a: RouterArtifact): Promise<EnsembleRouter> {
    if (!factory) throw new SwitchyardError('artifact_invalid', 'ensemble: no member factory registered');
    const members = Array.isArray(a.config['members']) ? (a.config['members'] as unknown[]).map(String) : undefined;
    const r = new EnsembleRouter({ ...predictorConfig(a.config), ...(members ? { members } : {}) }).restore(a);
    const s = parseState(StateSchema, (a.state as { model?: unknown } | null)?.model, 'ensemble');
    r.members = await Promise.all(s.members.map((m) => (factory as MemberFactory).load(parseArtifact(m, 'ensemble member'))));
    return r;
  }
}
