#!/usr/bin/env python3
"""How far answer agreement between models could take RouterBench's AIQ (issue #3's aim, 0.855).

A consensus cascade calls cheap models in turn and keeps an answer as soon as it agrees with an
earlier one (same choice letter), else escalates; code answers (mbpp) have no letter, so they always
escalate. This script replays every such chain of 2-3 cheap models plus an escalation model on the
train split, keeps the train frontier, and reports its test AIQ; then the best case, a router that
knows each prompt's task (the "cheating" reference of docs/routers.md) choosing per task among the
single models alone, and among single models and consensus chains.

    python3 bench/agreement-bound.py [../shared/data/routerbench]

Measured (session 6): mix hull 0.8096; consensus chains alone 0.8267; per task, single models
0.8423, with consensus chains 0.8457. Agreement is a real signal on arc-challenge (two cheap models
agreeing, else gpt-4: 0.945 at 28% of gpt-4's cost, against its 0.957), but the linear-cost AIQ gains
little from it: the aim (0.855) stays out of reach of both.
"""
import collections
import gzip
import itertools
import json
import re
import sys

base = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/routerbench'
rows = [json.loads(l) for l in open(f'{base}/matrix.jsonl')]
models = [m['id'] for m in json.load(open(f'{base}/dataset.json'))['models']]
answers = collections.defaultdict(dict)
for line in gzip.open(f'{base}/responses.jsonl.gz', 'rt'):
    r = json.loads(line)
    answers[r['id']][r['model']] = r['response']
STRONG = 'gpt-4-1106-preview'
CHEAP = ['mistralai/mixtral-8x7b-chat', 'zero-one-ai/Yi-34B-Chat', 'gpt-3.5-turbo-1106', 'claude-instant-v1',
         'meta/llama-2-70b-chat', 'mistralai/mistral-7b-chat', 'WizardLM/WizardLM-13B-V1.2']
LAST = [STRONG, 'claude-v1', 'gpt-3.5-turbo-1106', 'zero-one-ai/Yi-34B-Chat']


def letter(text):
    t = text.strip()
    m = re.match(r'^\(?([A-E])\b', t) or re.search(r'answer is:?\s*\(?([A-E])\b', t)
    return m.group(1) if m else None


def consensus(prompts, chain):
    """Mean (cost, quality) of a chain: a step's answer is kept when its letter agrees with an earlier one's."""
    q = c = 0.0
    for x in prompts:
        o, seen = x['outcomes'], []
        for k, m in enumerate(chain):
            if m not in o:
                continue
            c += o[m]['costUsd']
            key = letter(answers[x['id']].get(m, '')) if x['task'] != 'mbpp' else None
            if k == len(chain) - 1 or (key and key in seen):
                q += o[m]['score']
                break
            seen.append(key)
    return c / len(prompts), q / len(prompts)


def single(prompts, m):
    have = [x for x in prompts if m in x['outcomes']]
    return sum(x['outcomes'][m]['costUsd'] for x in have) / len(have), sum(x['outcomes'][m]['score'] for x in have) / len(have)


def hull(points):
    rising = []
    for p in sorted(points, key=lambda p: (p[0], -p[1])):
        if not rising or p[1] > rising[-1][1]:
            rising.append(p)
    h = []
    for p in rising:
        while len(h) >= 2 and (h[-1][0] - h[-2][0]) * (p[1] - h[-2][1]) - (h[-1][1] - h[-2][1]) * (p[0] - h[-2][0]) >= 0:
            h.pop()
        h.append(p)
    return h


def aiq(h, max_cost):
    """Area under the hull up to max_cost (interpolated, flat after its last point) over max_cost, as src/eval/metrics.ts."""
    cut = []
    for p in h:
        if p[0] <= max_cost:
            cut.append(p)
            continue
        if cut and cut[-1][0] < max_cost:
            a = cut[-1]
            cut.append((max_cost, a[1] + (p[1] - a[1]) * (max_cost - a[0]) / (p[0] - a[0])))
        break
    if cut and cut[-1][0] < max_cost:
        cut.append((max_cost, cut[-1][1]))
    return sum((cut[k - 1][1] + cut[k][1]) / 2 * (cut[k][0] - cut[k - 1][0]) for k in range(1, len(cut))) / max_cost


train = [x for x in rows if x['split'] == 'train']
test = [x for x in rows if x['split'] == 'test']
chains = [list(v) + [last] for r in (2, 3) for v in itertools.permutations(CHEAP, r) for last in LAST if last not in v]
singles_test = [single(test, m) for m in models]
max_cost = max(c for c, _ in singles_test)
print(f'mix hull (single models) test AIQ {aiq(hull(singles_test), max_cost):.4f}')

# consensus chains and single models, frontier chosen on train, replayed on test
configs = [(single(train, m), [m]) for m in models] + [(consensus(train, ch), ch) for ch in chains]
front, best = [], -1.0
for (c, q), ch in sorted(configs, key=lambda t: t[0][0]):
    if q > best:
        best = q
        front.append(ch)
test_points = [single(test, ch[0]) if len(ch) == 1 else consensus(test, ch) for ch in front]
print(f'consensus chains + single models, train frontier, test AIQ {aiq(hull(test_points), max_cost):.4f}')


def per_task_bound(with_chains):
    """A router that knows the task: per task, the train hull of its options; tasks combined by the steepest train slope first."""
    fronts = []
    for task in sorted({x['task'] for x in rows}):
        tr = [x for x in train if x['task'] == task]
        te = [x for x in test if x['task'] == task]
        options = [(single(tr, m), [m]) for m in models]
        if with_chains and task != 'mbpp':
            options += [(consensus(tr, ch), ch) for ch in chains]
        on_hull = set(hull([p for p, _ in options]))
        picked, done = [], set()
        for p, ch in sorted(options, key=lambda t: t[0][0]):
            if p in on_hull and p not in done:
                done.add(p)
                picked.append((p, single(te, ch[0]) if len(ch) == 1 else consensus(te, ch)))
        fronts.append((len(te) / len(test), picked))
    pos = [0] * len(fronts)
    point = lambda: (sum(w * f[pos[k]][1][0] for k, (w, f) in enumerate(fronts)), sum(w * f[pos[k]][1][1] for k, (w, f) in enumerate(fronts)))
    points = [point()]
    while True:
        steps = [((f[pos[k] + 1][0][1] - f[pos[k]][0][1]) / (f[pos[k] + 1][0][0] - f[pos[k]][0][0] + 1e-15), k) for k, (_, f) in enumerate(fronts) if pos[k] + 1 < len(f)]
        if not steps:
            break
        pos[max(steps)[1]] += 1
        points.append(point())
    return aiq(hull(points), max_cost)


print(f'per-task bound, single models: test AIQ {per_task_bound(False):.4f}')
print(f'per-task bound, single models and consensus chains: test AIQ {per_task_bound(True):.4f}')
