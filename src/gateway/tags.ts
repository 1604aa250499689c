/**
 * Spend attribution: what a request is tagged with, recorded with its decision so spend can be split
 * by end user, feature or team (`switchyard decisions --summary --by user|tag:NAME`). Tags come from
 * the request's OpenAI fields — `user` (or its successor `safety_identifier`) as the tag `user`, and
 * the string values of `metadata` — and from the `x-switchyard-tags` header (`team=search,
 * feature=autocomplete`), which wins. At most 16 tags, keys up to 64 characters, values up to 256.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const TAGS_HEADER = 'x-switchyard-tags';
const MAX_TAGS = 16;
const KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_VALUE = 256;

export type TagsResult = { readonly ok: true; readonly tags: Readonly<Record<string, string>> | undefined } | { readonly ok: false; readonly message: string };

/** The request's tags (undefined when it has none), or why the header is not readable. */
export function requestTags(body: Readonly<Record<string, unknown>>, headers: IncomingHttpHeaders): TagsResult {
  const tags: Record<string, string> = {};
  const user = body['user'] ?? body['safety_identifier'];
  if (typeof user === 'string' && user !== '') tags['user'] = user.slice(0, MAX_VALUE);
  const metadata = body['metadata'];
  if (metadata && typeof metadata === 'object' && !Array.isArray(metadata)) {
    for (const [k, v] of Object.entries(metadata as Record<string, unknown>)) if (typeof v === 'string' && KEY.test(k)) tags[k] = v.slice(0, MAX_VALUE);
  }
  const header = headers[TAGS_HEADER];
  if (typeof header === 'string' && header.trim() !== '') {
    for (const pair of header.split(/[,;]/)) {
      if (pair.trim() === '') continue;
      const eq = pair.indexOf('=');
      const key = pair.slice(0, Math.max(0, eq)).trim();
      const value = pair.slice(eq + 1).trim();
      if (eq <= 0 || !KEY.test(key) || value.length > MAX_VALUE) {
        return { ok: false, message: `${TAGS_HEADER}: expected key=value pairs separated by commas (keys: letters, digits, _ . : -, up to 64; values up to ${MAX_VALUE} characters), got "${pair.trim().slice(0, 80)}"` };
      }
      tags[key] = value;
    }
  }
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) return { ok: false, message: `at most ${MAX_TAGS} tags a request (user, metadata and ${TAGS_HEADER} together), got ${keys.length}` };
  return { ok: true, tags: keys.length > 0 ? tags : undefined };
}
