/**
 * Online learning for one route, kept in step across replicas through the store's ordered feedback
 * log (store.ts): feedback is appended as an event, every replica applies the events after the
 * last one it applied, in order, and snapshots (artifact + seq) let a restart replay only what
 * came after. Applying is serialised per route, so concurrent feedback never applies an event twice.
 */
import type { Router } from '../spec/router.js';
import type { FeedbackEvent, GatewayStore } from './store/store.js';

const BATCH = 500;

export class LearningRoute {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly router: Router,
    private readonly store: GatewayStore,
    /** The last feedback event applied to `router`. */
    private applied: number,
  ) {}

  get learns(): boolean {
    return this.router.update !== undefined;
  }

  get appliedSeq(): number {
    return this.applied;
  }

  /** Applies every event other replicas (or an earlier life of this one) appended since the last sync. */
  sync(): Promise<number> {
    return this.serial(() => this.catchUp());
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async catchUp(): Promise<number> {
    if (!this.router.update) return 0;
    let total = 0;
    for (;;) {
      const events = await this.store.feedbackEventsAfter(this.name, this.applied, BATCH);
      if (events.length === 0) return total;
      await this.router.update(events.map(({ event }) => ({ prompt: { text: event.prompt }, model: event.model, score: event.score, costUsd: event.costUsd })));
      this.applied = (events[events.length - 1] as { seq: number }).seq;
      total += events.length;
      if (events.length < BATCH) return total;
    }
  }

  /** Records an outcome in the shared log, applies it (and anything before it), and saves a snapshot. */
  async learn(event: FeedbackEvent): Promise<void> {
    await this.store.appendFeedbackEvent(this.name, event);
    await this.serial(async () => {
      await this.catchUp();
      // inside the serial section: the artifact holds exactly the events up to `applied`
      await this.store.saveRouterState(this.name, { artifactJson: JSON.stringify(this.router.toArtifact()), seq: this.applied });
    });
  }
}
