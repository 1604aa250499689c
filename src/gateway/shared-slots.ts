/**
 * A deployment's `maxInFlight` shared by the replicas of a shared (Redis) store: a call takes one of
 * its slots in the store before it starts and gives it back when it ends, so the replicas together
 * never have more calls in flight than the limit. A slot is a lease on the store's clock, renewed
 * every third of `leaseMs` while its call lasts (a long stream keeps it), so a replica that dies
 * holding slots frees them when their leases end. One per gateway process.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayStore } from './store/store.js';

/** How long a slot is held without renewal (a dead replica's slots come free after this). */
export const SLOT_LEASE_MS = 30_000;

export type SlotStore = Pick<GatewayStore, 'takeSlot' | 'releaseSlot' | 'renewSlots'>;

export class SharedSlots {
  /** This process, in its holders' names. */
  private readonly replica = randomBytes(6).toString('hex');
  private seq = 0;
  /** The slots this process holds, by slot id: renewed until given back. */
  private readonly held = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: SlotStore,
    /** The store did not answer (a take, a release or a renewal). */
    private readonly onError: (e: unknown) => void,
    private readonly leaseMs = SLOT_LEASE_MS,
  ) {}

  /**
   * Takes one of `limit` slots of `id`: resolves with the holder to give back, `false` when the
   * replicas hold all of them, or `null` when the store did not answer (the caller counts the call
   * against its own process's count alone, as when the store is not shared).
   */
  async take(id: string, limit: number): Promise<string | false | null> {
    const holder = `${this.replica}:${(this.seq++).toString(36)}`;
    try {
      if (!(await this.store.takeSlot(id, holder, limit, this.leaseMs))) return false;
    } catch (e) {
      this.onError(e);
      return null;
    }
    let holders = this.held.get(id);
    if (!holders) this.held.set(id, (holders = new Set()));
    holders.add(holder);
    if (!this.timer) {
      this.timer = setInterval(() => void this.renew(), this.leaseMs / 3);
      this.timer.unref();
    }
    return holder;
  }

  /** Gives `holder`'s slot of `id` back (a release the store does not take ends with the lease). */
  give(id: string, holder: string): void {
    const holders = this.held.get(id);
    holders?.delete(holder);
    if (holders?.size === 0) this.held.delete(id);
    this.store.releaseSlot(id, holder).catch(this.onError);
  }

  /** Slots this process holds now (all ids). */
  get holding(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.size;
    return n;
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    for (const [id, holders] of this.held) await this.store.renewSlots(id, [...holders], this.leaseMs).catch(this.onError);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
