/** Bounded, insertion-ordered maps: the oldest entries go first (an LRU when a hit is set again). */

/** Drops the oldest entries of `map` beyond `max`. */
export function trimOldest<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}

/** Sets `key` as the newest entry of `map`, then drops the oldest beyond `max`. */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  trimOldest(map, max);
}
