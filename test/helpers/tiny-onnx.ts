/**
 * Builds a tiny sentence-transformer model folder for tests (no hub, no download): a BERT-style
 * WordPiece tokenizer over a small vocabulary and an ONNX graph whose last_hidden_state is a token
 * embedding lookup (Gather). Written with a minimal protobuf encoder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../../src/core/random.js';

// --- a minimal protobuf writer -------------------------------------------------------------
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const fVarint = (field: number, n: number | bigint): number[] => [...key(field, 0), ...varint(n)];
const fBytes = (field: number, bytes: ArrayLike<number>): number[] => [...key(field, 2), ...varint(bytes.length), ...Array.from(bytes)];
const fString = (field: number, s: string): number[] => fBytes(field, Buffer.from(s, 'utf8'));

const INT64 = 7;
const FLOAT = 1;

function valueInfo(name: string, elemType: number, dims: Array<number | string>): number[] {
  const shape = dims.flatMap((d) => fBytes(1, typeof d === 'number' ? fVarint(1, d) : fString(2, d)));
  const tensorType = [...fVarint(1, elemType), ...fBytes(2, shape)];
  return [...fString(1, name), ...fBytes(2, fBytes(1, tensorType))];
}

function tensor(name: string, dims: number[], data: Float32Array): number[] {
  return [...dims.flatMap((d) => fVarint(1, d)), ...fVarint(2, FLOAT), ...fString(8, name), ...fBytes(9, new Uint8Array(data.buffer))];
}

function node(op: string, inputs: string[], outputs: string[], name: string): number[] {
  return [...inputs.flatMap((i) => fString(1, i)), ...outputs.flatMap((o) => fString(2, o)), ...fString(3, name), ...fString(4, op)];
}

/** An ONNX model: last_hidden_state[b, s, :] = E[input_ids[b, s], :]. */
export function embeddingLookupOnnx(vocabSize: number, dim: number, seed = 1): Uint8Array {
  const rng = createRng(seed);
  const E = Float32Array.from({ length: vocabSize * dim }, () => rng.next() * 2 - 1);
  const graph = [
    ...fBytes(1, node('Gather', ['embeddings', 'input_ids'], ['last_hidden_state'], 'lookup')),
    ...fString(2, 'tiny-encoder'),
    ...fBytes(5, tensor('embeddings', [vocabSize, dim], E)),
    ...fBytes(11, valueInfo('input_ids', INT64, ['batch', 'seq'])),
    ...fBytes(11, valueInfo('attention_mask', INT64, ['batch', 'seq'])),
    ...fBytes(11, valueInfo('token_type_ids', INT64, ['batch', 'seq'])),
    ...fBytes(12, valueInfo('last_hidden_state', FLOAT, ['batch', 'seq', dim])),
  ];
  const model = [...fVarint(1, 8), ...fString(2, 'switchyard-tests'), ...fBytes(7, graph), ...fBytes(8, [...fString(1, ''), ...fVarint(2, 13)])];
  return Uint8Array.from(model);
}

/** Writes `<dir>/<name>/{config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx}`; returns the folder. */
export function writeTinyModel(dir: string, name = 'tiny-st', dim = 16): string {
  const words = 'the a of to and in is it for on with how what why write code python function sort list court law appeal contract weather movie recipe travel math equation prime integral'.split(' ');
  const vocab: Record<string, number> = { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4 };
  for (const w of words) vocab[w] ??= Object.keys(vocab).length;
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789') vocab[c] ??= Object.keys(vocab).length;
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789') vocab[`##${c}`] ??= Object.keys(vocab).length;
  for (const p of '.,?!') vocab[p] ??= Object.keys(vocab).length;
  const folder = join(dir, name);
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  const size = Object.keys(vocab).length;
  writeFileSync(join(folder, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: dim, vocab_size: size, max_position_embeddings: 512 }));
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' }));
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  writeFileSync(
    join(folder, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: special,
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] } },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    }),
  );
  writeFileSync(join(folder, 'onnx', 'model.onnx'), embeddingLookupOnnx(size, dim));
  return folder;
}
