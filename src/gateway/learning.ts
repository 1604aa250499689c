/**
 * Online learning for one route, kept in step across replicas through the store's ordered feedback
 * log (store.ts): feedback is appended as an event, every replica applies the events after the
 * last one it applied, in order, and snapshots (artifact + seq) let a restart replay only what
 * came after. Applying is serialised per route, so concurrent feedback never applies an event twice.
 */
import { routerFromArtifact } from '../routers/registry.js';
import type { Router, RouterArtifact } from '../spec/router.js';
import type { FeedbackEvent, GatewayStore } from './store/store.js';

const BATCH = 500;
/** Events kept behind the newest snapshot, for replicas that lag; older ones are trimmed. */
export const RETAIN_EVENTS = 10_000;
/** A snapshot every this many events (and on close): restarts replay at most this many from the log. */
export const SNAPSHOT_EVERY = 100;

export class LearningRoute {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    private current: Router,
    private readonly store: GatewayStore,
    /** The last feedback event applied to the router. */
    private applied: number,
    private readonly retain = RETAIN_EVENTS,
    private readonly snapshotEvery = SNAPSHOT_EVERY,
    /** Loads a snapshot's artifact (the route reprices it to the serving prices first). */
    private readonly load: (artifact: RouterArtifact) => Promise<Router> = async (a) => routerFromArtifact(a),
  ) {
    this.snapshotSeq = applied;
  }

  /** The seq of the last snapshot this replica saved or started from. */
  private snapshotSeq: number;

  get router(): Router {
    return this.current;
  }

  get learns(): boolean {
    return this.current.update !== undefined;
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
    if (!this.current.update) return 0;
    let total = 0;
    for (;;) {
      const events = await this.store.feedbackEventsAfter(this.name, this.applied, BATCH);
      if (events.length === 0) return total;
      if ((events[0] as { seq: number }).seq > this.applied + 1) {
        // the events this replica still needed were trimmed: start again from the newest snapshot
        const snapshot = await this.store.loadRouterState(this.name);
        if (!snapshot || snapshot.seq < (events[0] as { seq: number }).seq - 1) throw new Error(`${this.name}: feedback log has a gap after event ${this.applied} and no snapshot covers it`);
        this.current = await this.load(JSON.parse(snapshot.artifactJson) as RouterArtifact);
        this.applied = snapshot.seq;
        continue;
      }
      await this.current.update?.(events.map(({ event }) => ({ prompt: { text: event.prompt }, model: event.model, score: event.score, costUsd: event.costUsd })));
      this.applied = (events[events.length - 1] as { seq: number }).seq;
      total += events.length;
      if (events.length < BATCH) return total;
    }
  }

  /**
   * Records an outcome in the shared log (that is what makes it durable) and applies it, with
   * anything before it; every `snapshotEvery` events it also saves a snapshot and trims the log.
   */
  async learn(event: FeedbackEvent): Promise<void> {
    await this.store.appendFeedbackEvent(this.name, event);
    await this.serial(async () => {
      await this.catchUp();
      if (this.applied - this.snapshotSeq >= this.snapshotEvery) await this.saveSnapshot();
    });
  }

  /** Saves a snapshot of what has been applied, if it is newer than the last (e.g. on shutdown). */
  snapshot(): Promise<void> {
    return this.serial(async () => {
      if (this.current.update && this.applied > this.snapshotSeq) await this.saveSnapshot();
    });
  }

  /** Inside the serial section: the artifact holds exactly the events up to `applied`. */
  private async saveSnapshot(): Promise<void> {
    await this.store.saveRouterState(this.name, { artifactJson: JSON.stringify(this.current.toArtifact()), seq: this.applied });
    this.snapshotSeq = this.applied;
    if (this.applied > this.retain) await this.store.trimFeedbackEvents(this.name, this.applied - this.retain);
  }
}
