/**
 * Prometheus metrics of one edge node (GET /metrics, prom-client): the requests it answered as the
 * origin and how many proposals each merged, its own model's calls, the gossip it sent and received
 * by kind and outcome, feedback, and its view of the swarm. Names start `switchyard_edge_`;
 * docs/edge.md lists them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type GossipKind = 'query' | 'proposal' | 'feedback';
/** What became of a message this node sent: delivered, refused for now (429), or failed (unreachable, 5xx, another swarm). */
export type SentOutcome = 'delivered' | 'busy' | 'failed';
/** What this node did with a message it received: taken, seen before, or refused (rate limit, signature, malformed). */
export type ReceivedOutcome = 'accepted' | 'duplicate' | 'rate_limited' | 'bad_signature' | 'invalid';

export class EdgeMetrics {
  readonly registry = new Registry();
  /** Client requests this node answered, by what was asked (`swarm` or `own`) and status. */
  readonly requests = new Counter({ name: 'switchyard_edge_requests_total', help: 'Chat requests this node answered as the origin, by model asked (swarm: the merged answer; own: its model alone) and status', labelNames: ['asked', 'status'], registers: [this.registry] });
  readonly requestSeconds = new Histogram({ name: 'switchyard_edge_request_duration_seconds', help: 'Time to answer a chat request as the origin (collecting proposals, merging)', labelNames: ['asked'], buckets: SECONDS, registers: [this.registry] });
  readonly proposals = new Histogram({ name: 'switchyard_edge_proposals_merged', help: 'Proposals merged into each swarm answer', buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16], registers: [this.registry] });
  readonly aggregate = new Counter({ name: 'switchyard_edge_aggregate_total', help: 'Swarm answers by how they were merged (single, scorer, local, first)', labelNames: ['how'], registers: [this.registry] });
  readonly modelCalls = new Counter({ name: 'switchyard_edge_model_calls_total', help: "Calls to this node's own model (its proposals, merges and own answers), by outcome", labelNames: ['outcome'], registers: [this.registry] });
  readonly modelSeconds = new Histogram({ name: 'switchyard_edge_model_call_duration_seconds', help: "Duration of calls to this node's own model", buckets: SECONDS, registers: [this.registry] });
  readonly gossipSent = new Counter({ name: 'switchyard_edge_gossip_sent_total', help: 'Gossip messages this node sent, by kind and outcome (delivered, busy: the peer answered 429, failed)', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly gossipReceived = new Counter({ name: 'switchyard_edge_gossip_received_total', help: 'Gossip messages this node received, by kind and outcome (accepted, duplicate, rate_limited, bad_signature, invalid)', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly routerErrors = new Counter({ name: 'switchyard_edge_router_errors_total', help: "Swarm requests the node's router failed to route (answered unrouted: every node may propose)", registers: [this.registry] });
  readonly feedback = new Counter({ name: 'switchyard_edge_feedback_total', help: 'Feedback on answers of this node, by whether a router learned from it', labelNames: ['learned'], registers: [this.registry] });

  constructor(peers: () => number) {
    new Gauge({
      name: 'switchyard_edge_peers',
      help: "Peers in this node's view of the swarm",
      registers: [this.registry],
      collect() {
        this.set(peers());
      },
    });
  }
}
