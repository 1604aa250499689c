import { describe, expect, it } from 'vitest';
import { choiceOf, judgeMessages, lastNumber, matchesReference, ratingOf, pairwiseMessages, verdictOf } from './graders.js';

describe('collect graders', () => {
  it('reads a choice letter, a final number and a short text answer against a reference', () => {
    expect(choiceOf('B\n')).toBe('B');
    expect(choiceOf('(C) because the sun')).toBe('C');
    expect(choiceOf('After weighing them, the answer is D.')).toBe('D');
    expect(choiceOf('I think so')).toBeUndefined();
    expect(matchesReference('**A**. The first option', 'a')).toBe(true);
    expect(matchesReference('A banana? No: the answer is C', 'A')).toBe(true); // the first token decides, as graders of MMLU-style answers do
    expect(lastNumber('She has 3 apples, then 12, so 1,250 in all.')).toBe(1250);
    expect(matchesReference('3 + 4 = 7\n#### 7', '7')).toBe(true);
    expect(matchesReference('The total is 7.5 dollars', '7.50')).toBe(true);
    expect(matchesReference('It is 17.', '7')).toBe(false);
    expect(matchesReference('Paris.', 'paris')).toBe(true);
    expect(matchesReference('Let me think.\nThe capital is Paris!', 'Paris')).toBe(true);
    expect(matchesReference('Comparisons with Parisian life', 'Paris')).toBe(false);
    expect(matchesReference('anything', '')).toBe(false);
  });

  it('asks the judge with the MT-Bench grading prompt and reads its last [[rating]]', () => {
    const [system, user] = judgeMessages({ prompt: 'What is 2+2?', reference: '4' }, 'It is 4.');
    expect(system?.role).toBe('system');
    expect(user?.content).toContain('[Question]\nWhat is 2+2?');
    expect(user?.content).toContain('[The Start of Reference Answer]\n4\n[The End of Reference Answer]');
    expect(user?.content).toContain("[The Start of Assistant's Answer]\nIt is 4.\n[The End of Assistant's Answer]");
    expect(judgeMessages({ prompt: 'Write a poem' }, 'Roses…')[1]?.content).not.toContain('Reference');
    expect(ratingOf('Good. Rating: [[10]]')).toBe(1);
    expect(ratingOf('e.g. "[[5]]" ... Rating: [[1]]')).toBe(0);
    expect(ratingOf('Rating: [[7.5]]')).toBeCloseTo(6.5 / 9, 12);
    expect(ratingOf('Rating: 8/10')).toBeUndefined();
    expect(ratingOf('Rating: [[11]]')).toBeUndefined();
  });
});

describe('pairwise verdicts', () => {
  it('reads the last [[A]] / [[B]] / [[C]] a judge wrote', () => {
    expect(verdictOf('A is clearer. [[A]]')).toBe('A');
    expect(verdictOf('Not [[A]] after all: [[B]]')).toBe('B');
    expect(verdictOf('They are equal. [[C]]')).toBe('C');
    expect(verdictOf('I cannot decide.')).toBeUndefined();
    expect(pairwiseMessages({ prompt: 'Q?' }, 'first', 'second')[1]?.content).toMatch(/\[The Start of Assistant A's Answer\]\nfirst\n[\s\S]*\[The Start of Assistant B's Answer\]\nsecond\n/);
  });
});
