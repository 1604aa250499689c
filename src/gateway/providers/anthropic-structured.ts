/**
 * Structured outputs on Claude (`models.X.structuredOutputs`):
 * - `native`: `response_format: json_schema` becomes `output_config.format` — Claude's constrained
 *   decoding (Claude 4.5 and later) — and a tool marked `strict: true` stays strict. The answer is
 *   the message's text, and thinking stays on (no tool is forced).
 * - `tool`: the schema goes as a tool the model must call (anthropic-wire.ts, `JSON_ANSWER_TOOL`):
 *   every Claude takes it, but a forced tool turns thinking off.
 * Unset: as the model's name says (4.5 and later `native`). JSON mode (`json_object`, any object) has
 * no native form and goes the `tool` way on every model.
 *
 * Claude's decoder takes a subset of JSON Schema: `strictSchema` rewrites a schema into it as
 * Anthropic's SDKs do — every object closed (`additionalProperties: false`), `oneOf` as `anyOf`, and
 * the constraints it cannot enforce (`minimum`, `maxLength`, `pattern`, …) moved into the
 * description, where the model still reads them. A schema with no such form — recursive, an open
 * map (`additionalProperties` a schema, `patternProperties`), a tuple, a node without a type — goes
 * the `tool` way.
 */

import { claudeVersion } from './anthropic-thinking.js';

export type StructuredMode = 'native' | 'tool';

/** How a Claude model answers with a schema, by the version in its name: 4.5 and later natively. */
export function knownStructured(name: string): StructuredMode {
  return (claudeVersion(name) ?? 0) >= 45 ? 'native' : 'tool';
}

/** How a configured model answers with a schema: its `structuredOutputs` setting, else what its name says; only `anthropic` models. */
export function structuredOf(id: string, m: { readonly provider: string; readonly structuredOutputs?: StructuredMode | undefined; readonly upstreamModel?: string | undefined; readonly platform?: string | undefined }): StructuredMode | undefined {
  if (m.provider !== 'anthropic') return undefined;
  // Bedrock and Vertex take up Anthropic's features later: native schemas there only when the config says so
  if (m.platform === 'bedrock' || m.platform === 'vertex') return m.structuredOutputs ?? 'tool';
  return m.structuredOutputs ?? knownStructured(m.upstreamModel ?? id);
}

/** String formats Claude's decoder enforces; another `format` moves into the description. */
const FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'uri', 'ipv4', 'ipv6', 'uuid']);
/** Keywords that carry no constraint: left out. */
const DROPPED = new Set(['$schema', '$id', '$comment', 'additionalProperties', 'strict']);

type Schema = Record<string, unknown>;
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

class NoStrictForm extends Error {}

/** `#/$defs/X` or `#/definitions/X` → its definition's key; another reference has no strict form. */
function refTarget(ref: unknown): string {
  const m = typeof ref === 'string' ? /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref) : null;
  if (!m) throw new NoStrictForm();
  return `${m[1]}/${m[2]}`;
}

/** The definitions a node refers to, directly or through its children. */
function refsIn(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const v of node) refsIn(v, into);
  else if (isSchema(node)) {
    if ('$ref' in node) into.add(refTarget(node['$ref']));
    for (const [k, v] of Object.entries(node)) if (k !== '$defs' && k !== 'definitions') refsIn(v, into);
  }
  return into;
}

/** Throws when a definition reachable from the root refers back to itself (Claude's decoder takes no recursion). */
function assertNotRecursive(root: Schema): void {
  const defs = new Map<string, unknown>();
  for (const key of ['$defs', 'definitions']) if (isSchema(root[key])) for (const [name, d] of Object.entries(root[key])) defs.set(`${key}/${name}`, d);
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting' || !defs.has(name)) throw new NoStrictForm();
    state.set(name, 'visiting');
    for (const next of refsIn(defs.get(name), new Set())) visit(next);
    state.set(name, 'done');
  };
  for (const name of refsIn({ ...root, $defs: undefined, definitions: undefined }, new Set())) visit(name);
}

function strictNode(node: unknown): Schema {
  if (!isSchema(node)) throw new NoStrictForm();
  if ('$ref' in node) return { $ref: node['$ref'] };
  const out: Schema = {};
  const moved: string[] = [];
  const type = node['type'];
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key)) continue;
    switch (key) {
      case 'type':
      case 'description':
      case 'title':
      case 'const':
      case 'enum':
      case 'required':
        out[key] = value;
        break;
      case 'anyOf':
      case 'oneOf':
      case 'allOf':
        if (!Array.isArray(value)) throw new NoStrictForm();
        out[key === 'allOf' ? 'allOf' : 'anyOf'] = value.map(strictNode);
        break;
      case '$defs':
      case 'definitions':
        if (!isSchema(value)) throw new NoStrictForm();
        out[key] = Object.fromEntries(Object.entries(value).map(([name, d]) => [name, strictNode(d)]));
        break;
      case 'properties':
        if (!isSchema(value)) throw new NoStrictForm();
        out[key] = Object.fromEntries(Object.entries(value).map(([name, p]) => [name, strictNode(p)]));
        break;
      case 'items':
        out[key] = strictNode(value); // a tuple (an array of schemas) has no strict form
        break;
      case 'format':
        if (FORMATS.has(String(value))) out[key] = value;
        else moved.push(`${key}: ${JSON.stringify(value)}`);
        break;
      case 'minItems':
        if (value === 0 || value === 1) out[key] = value;
        else moved.push(`${key}: ${JSON.stringify(value)}`);
        break;
      default:
        moved.push(`${key}: ${JSON.stringify(value)}`);
    }
  }
  if (out['type'] === undefined && out['anyOf'] === undefined && out['allOf'] === undefined) throw new NoStrictForm();
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('object')) {
    // a map (additionalProperties a schema, or patternProperties) cannot be closed without losing its entries
    if (isSchema(node['additionalProperties']) || node['patternProperties'] !== undefined) throw new NoStrictForm();
    out['properties'] ??= {};
    out['additionalProperties'] = false;
  }
  if (moved.length > 0) out['description'] = `${typeof out['description'] === 'string' ? `${out['description']}\n\n` : ''}{${moved.join(', ')}}`;
  return out;
}

/**
 * `schema` in the subset Claude's structured outputs take (see above), or undefined when it has no
 * form there (the request then goes the `tool` way). The root must be an object, as a tool's input is.
 */
export function strictSchema(schema: unknown): Schema | undefined {
  if (!isSchema(schema) || schema['type'] !== 'object') return undefined;
  try {
    assertNotRecursive(schema);
    return strictNode(schema);
  } catch (e) {
    if (e instanceof NoStrictForm) return undefined;
    throw e;
  }
}
