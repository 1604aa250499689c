/**
 * The requests a gateway is answering, for a graceful shutdown: each gets a signal that fires when its
 * client goes away before the answer is complete (cancelling its upstream calls); a drain closes
 * their connections after their answers, waits for them to finish, and cuts what is left.
 */
import type { ServerResponse } from 'node:http';
import { CallSignal } from './providers/openai-compatible.js';

/** Why a request still in flight when the drain ran out was cut (its record says 503, not 499). */
export const SHUTDOWN = 'the gateway shut down before the request finished';

export class InFlight {
  private readonly requests = new Map<ServerResponse, CallSignal>();
  private onIdle: (() => void) | undefined;
  private draining = false;

  get size(): number {
    return this.requests.size;
  }

  /** Tracks a request until `done(res)`; its signal aborts if the connection closes before the response finished. */
  track(res: ServerResponse): CallSignal {
    const client = new CallSignal();
    this.requests.set(res, client);
    if (this.draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      if (!res.writableFinished) client.abort(new Error('the client closed the connection'));
    });
    return client;
  }

  done(res: ServerResponse): void {
    this.requests.delete(res);
    if (this.requests.size === 0) this.onIdle?.();
  }

  /** From now on every answer closes its connection (clients reconnect elsewhere). */
  drain(): void {
    this.draining = true;
    for (const res of this.requests.keys()) res.shouldKeepAlive = false;
  }

  /** Resolves when no request is in flight, or after `ms`. */
  settled(ms: number): Promise<void> {
    if (this.requests.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Aborts every request still in flight with `reason` (their upstream calls are cancelled). */
  cut(reason: string): void {
    for (const client of this.requests.values()) client.abort(new Error(reason));
  }
}
