import { describe, expect, it } from 'vitest';
import { SseSplitter } from './http.js';

describe('SseSplitter', () => {
  it('yields whole events however the bytes are cut, multi-byte characters included', () => {
    const text = 'data: {"a":"héllo 😀"}\n\ndata: {"b":2}\n\n: comment\n\ndata: [DONE]\n\n';
    const bytes = Buffer.from(text, 'utf8');
    const want = ['data: {"a":"héllo 😀"}', 'data: {"b":2}', ': comment', 'data: [DONE]'];
    for (const size of [1, 2, 3, 5, 7, 64, bytes.length]) {
      const splitter = new SseSplitter();
      const got: string[] = [];
      for (let i = 0; i < bytes.length; i += size) got.push(...splitter.push(bytes.subarray(i, i + size)));
      expect(got).toEqual(want);
    }
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const splitter = new SseSplitter();
    expect(splitter.push(Buffer.from('data: {"x":1}\n'))).toEqual([]);
    expect(splitter.push(Buffer.from('\ndata: {"y"'))).toEqual(['data: {"x":1}']);
    expect(splitter.push(Buffer.from(':2}\n\n'))).toEqual(['data: {"y":2}']);
  });
});
