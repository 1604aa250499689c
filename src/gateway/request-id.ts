/**
 * Request ids that sort by time (like UUIDv7): `req_` + 12 hex digits of the millisecond clock + a
 * 4-hex-digit sequence within this process + 16 random hex digits. Ordered ids keep the decision
 * log's primary-key index appending at its end instead of inserting at random places.
 */
import { randomBytes } from 'node:crypto';

export function requestIds(now: () => number): () => string {
  let pool = Buffer.alloc(0);
  let used = 0;
  let seq = 0;
  return () => {
    if (used + 8 > pool.length) {
      pool = randomBytes(8 * 512);
      used = 0;
    }
    const random = pool.toString('hex', used, used + 8);
    used += 8;
    seq = (seq + 1) & 0xffff;
    return `req_${Math.floor(now()).toString(16).padStart(12, '0')}${seq.toString(16).padStart(4, '0')}${random}`;
  };
}
