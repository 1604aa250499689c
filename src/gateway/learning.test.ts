import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../test/helpers/synthetic.js';
import { createRouter, routerFromArtifact } from '../routers/registry.js';
import { LearningRoute } from './learning.js';
import { SqliteStore } from './store/sqlite-store.js';

/** A cold UCB1 router's artifact (JSON) and an empty in-memory store. */
async function setup(): Promise<{ artifact: string; store: SqliteStore }> {
  const base = createRouter('ucb1:bootstrap=false');
  await base.fit(syntheticMatrix({ prompts: 120 }).view('train'), { seed: 0 });
  return { artifact: JSON.stringify(base.toArtifact()), store: new SqliteStore(':memory:') };
}

describe('learning log across replicas', () => {
  it('keeps replicas in step, trims behind snapshots, and lets a replica that fell behind reload (a snapshot every event)', async () => {
    const { artifact, store } = await setup();
    const replica = async (): Promise<LearningRoute> => new LearningRoute('learn', await routerFromArtifact(JSON.parse(artifact)), store, 0, 2, 1);
    const a = await replica();
    const b = await replica();
    const late = await replica(); // never syncs until the end
    const events = [
      { prompt: 'p1', model: 'small-1', score: 0, costUsd: 1e-4 },
      { prompt: 'p2', model: 'small-3', score: 1, costUsd: 1e-4 },
      { prompt: 'p3', model: 'big-model', score: 0, costUsd: 1e-3 },
      { prompt: 'p4', model: 'small-2', score: 0, costUsd: 1e-4 },
      { prompt: 'p5', model: 'small-3', score: 1, costUsd: 1e-4 },
    ];
    for (const [k, e] of events.entries()) await (k % 2 === 0 ? a : b).learn(e);
    await a.sync();
    await b.sync();
    expect(a.appliedSeq).toBe(5);
    expect(b.appliedSeq).toBe(5);
    expect(a.router.toArtifact().state).toEqual(b.router.toArtifact().state);
    // only the last 2 events are kept behind the snapshot
    expect((await store.feedbackEventsAfter('learn', 0, 10)).map((e) => e.seq)).toEqual([4, 5]);
    await late.sync();
    expect(late.appliedSeq).toBe(5);
    expect(late.router.toArtifact().state).toEqual(a.router.toArtifact().state);
    await store.close();
  });

  it('snapshots every N events and on demand; a restart replays the log after the snapshot', async () => {
    const { artifact, store } = await setup();
    const a = new LearningRoute('learn', await routerFromArtifact(JSON.parse(artifact)), store, 0, 1000, 3);
    for (let k = 0; k < 4; k++) await a.learn({ prompt: `p${k}`, model: 'small-3', score: 1, costUsd: 1e-4 });
    expect((await store.loadRouterState('learn'))?.seq).toBe(3); // the 4th event is in the log only
    const saved = await store.loadRouterState('learn');
    const restarted = new LearningRoute('learn', await routerFromArtifact(JSON.parse(saved?.artifactJson as string)), store, saved?.seq ?? 0, 1000, 3);
    await restarted.sync();
    expect(restarted.router.toArtifact().state).toEqual(a.router.toArtifact().state);
    await a.snapshot();
    expect((await store.loadRouterState('learn'))?.seq).toBe(4);
    await store.close();
  });
});
