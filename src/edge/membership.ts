/**
 * A node's view of the swarm: seed peers plus every node it has heard from, minus those that failed
 * too many sends in a row (they rejoin as soon as a message of theirs arrives). Peers to push a
 * message to are drawn from the view with the node's seeded random generator.
 */
import { shuffleInPlace, type Rng } from '../core/random.js';

export class Membership {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly self: string,
    seeds: readonly string[],
    private readonly rng: Rng,
    private readonly dropAfter: number,
  ) {
    for (const s of seeds) this.heard(s);
  }

  /** A message from `url` arrived (or it is a seed): it is in the view, its failures forgotten. */
  heard(url: string): void {
    if (url !== this.self) this.failures.set(url, 0);
  }

  /** A send to `url` failed; after `dropAfter` in a row it leaves the view. */
  failed(url: string): void {
    const n = (this.failures.get(url) ?? 0) + 1;
    if (n >= this.dropAfter) this.failures.delete(url);
    else if (this.failures.has(url)) this.failures.set(url, n);
  }

  succeeded(url: string): void {
    if (this.failures.has(url)) this.failures.set(url, 0);
  }

  get peers(): string[] {
    return [...this.failures.keys()];
  }

  /** Up to `k` distinct peers, none of `exclude`, chosen at random. */
  sample(k: number, exclude: readonly string[] = []): string[] {
    return shuffleInPlace(this.peers.filter((p) => !exclude.includes(p)), this.rng).slice(0, k);
  }
}
