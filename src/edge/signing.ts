/**
 * Gossip between edge nodes is signed with a secret the swarm shares: HMAC-SHA256 over the send time
 * and the exact body bytes, in the header `x-switchyard-swarm-signature: t=<unix ms>,v1=<hex>`. A node
 * with a secret takes only gossip signed with it, sent within `maxSkewMs` of its own clock; a replay
 * inside that window is a duplicate the node has already seen (messages are remembered for longer).
 * Without the secret nobody can make a node run queries on its model, inject proposals into its
 * answers, or add peer URLs to its view (which it would then send requests to).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-switchyard-swarm-signature';

function mac(secret: string, t: number, body: string): Buffer {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest();
}

/** The signature header's value for `body` sent at `now`. */
export function signBody(secret: string, body: string, now: number): string {
  return `t=${now},v1=${mac(secret, now, body).toString('hex')}`;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** Checks a signature header against `body`: signed with `secret`, and sent within `maxSkewMs` of `now`. */
export function verifyBody(secret: string, header: string | undefined, body: string, now: number, maxSkewMs: number): Verdict {
  if (!header) return { ok: false, why: `missing ${SIGNATURE_HEADER} header (this node only takes gossip signed with the swarm's secret)` };
  const parts = new Map(header.split(',').map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()] as const));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(t) || !/^[0-9a-f]{64}$/.test(given)) return { ok: false, why: `malformed ${SIGNATURE_HEADER} header (expected t=<unix ms>,v1=<64 hex digits>)` };
  if (Math.abs(now - t) > maxSkewMs) return { ok: false, why: `signature time ${t} is ${Math.round(Math.abs(now - t) / 1000)} s from this node's clock (at most ${maxSkewMs / 1000} s allowed)` };
  if (!timingSafeEqual(mac(secret, t, body), Buffer.from(given, 'hex'))) return { ok: false, why: 'bad signature (another secret, or the body was changed)' };
  return { ok: true };
}
