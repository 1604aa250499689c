/**
 * Authorising a request among many API keys (the admin API makes them by the thousand): the lookup
 * the gateway does (one sha256, one map lookup) against hashing the presented key once per configured
 * key, as it did before the admin API.
 * Run: npm run build && node dist/bench/key-lookup.js [--keys 10000]
 */
import { parseArgs } from 'node:util';
import { hashKey, keyOf } from '../src/gateway/auth.js';

const { values } = parseArgs({ options: { keys: { type: 'string' } } });
const N = Number(values.keys ?? 10_000);
const keys = Array.from({ length: N }, (_, i) => ({ name: `k${i}`, sha256: hashKey(`sk-${i}`) }));
const header = `Bearer sk-${N - 1}`; // the last key: the worst case for a scan
const time = (f: () => unknown, n: number): number => {
  const t = performance.now();
  for (let k = 0; k < n; k++) f();
  return ((performance.now() - t) * 1000) / n;
};
const scan = (): unknown => keys.find((k) => k.sha256 === hashKey(header.slice(7)));
keyOf(header, keys); // index built once
console.log(`${N} keys: indexed lookup ${time(() => keyOf(header, keys), 20_000).toFixed(2)} µs a request; hashing per key ${time(scan, 20).toFixed(0)} µs`);
