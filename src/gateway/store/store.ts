/**
 * Everything the gateway must not lose, behind one interface: the decision log, feedback, spend per
 * API key, and learned router state. Async, so a Redis-backed store for several replicas can follow
 * without touching callers; SQLite (WAL) is the embedded default.
 */
import type { CandidateEstimate } from '../../spec/router.js';

export interface DecisionRecord {
  readonly requestId: string;
  /** Unix milliseconds. */
  readonly time: number;
  readonly route: string;
  readonly keyId: string | null;
  readonly lambda: number;
  /** The router's choice, and the model that answered (differs after a fallback). */
  readonly chosen: string;
  readonly answered: string | null;
  readonly reason: string;
  readonly candidates: readonly CandidateEstimate[];
  readonly costUsd: number;
  readonly latencyMs: number;
  readonly status: number;
  /** The prompt text only when the store keeps prompts (off by default). */
  readonly prompt: string | null;
}

export interface DecisionQuery {
  readonly limit?: number;
  readonly route?: string;
  readonly since?: number;
}

export interface GatewayStore {
  recordDecision(d: DecisionRecord): Promise<void>;
  getDecision(requestId: string): Promise<DecisionRecord | undefined>;
  listDecisions(q?: DecisionQuery): Promise<DecisionRecord[]>;
  recordFeedback(requestId: string, score: number, time: number): Promise<void>;
  addSpend(keyId: string, usd: number, time: number): Promise<void>;
  /** USD spent by a key since `since` (unix ms). */
  spend(keyId: string, since: number): Promise<number>;
  saveRouterState(route: string, artifactJson: string): Promise<void>;
  loadRouterState(route: string): Promise<string | undefined>;
  close(): Promise<void>;
}
