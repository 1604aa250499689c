"""Independent reference figures, straight from the raw files, for checking `switchyard eval`.

Reads a routing-matrix folder (matrix.jsonl) or RouterBench wide CSVs with Python's own json/csv
modules and prints, for the test split: oracle, best single (chosen on train), cheapest (chosen on
train), every single model's mean, maxCost and the mix hull's AIQ (definitions: docs/metrics.md).
"""
import csv
import glob
import json
import math
import os
import sys


def rows_from_matrix(folder):
    with open(os.path.join(folder, "matrix.jsonl")) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                yield r["split"], {m: (o["score"], o["costUsd"]) for m, o in r["outcomes"].items()}


def rows_from_routerbench(folder):
    csv.field_size_limit(1 << 30)
    best = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        split = "test" if path.endswith("_test.csv") else "train"
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            models = [h for h in reader.fieldnames if h and "|" not in h and h not in ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")]
            for row in reader:
                out = {}
                for m in models:
                    if row[m].strip() != "":
                        out[m] = (float(row[m]), float(row[m + "|total_cost"]))
                sid = row["sample_id"]
                # a sample_id split over two rows: keep the row with more recorded models (first on ties)
                if sid not in best or len(out) > len(best[sid][1]):
                    best[sid] = (split, out)
    return best.values()


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def hull_aiq(points, max_cost):
    pts = sorted(points, key=lambda p: (p[0], -p[1]))
    rising = []
    for p in pts:
        if not rising or p[1] > rising[-1][1]:
            rising.append(p)
    hull = []
    for p in rising:
        while len(hull) >= 2:
            (ax, ay), (bx, by) = hull[-2], hull[-1]
            if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    hull = [p for p in hull if p[0] <= max_cost]
    if hull[-1][0] < max_cost:
        hull.append((max_cost, hull[-1][1]))
    area = sum((hull[k][0] - hull[k - 1][0]) * (hull[k][1] + hull[k - 1][1]) / 2 for k in range(1, len(hull)))
    return area / max_cost


def main(path):
    rows = list(rows_from_matrix(path) if os.path.exists(os.path.join(path, "matrix.jsonl")) else rows_from_routerbench(path))
    models = sorted({m for _, o in rows for m in o})
    per = {s: {m: [o[m] for sp, o in rows if sp == s and m in o] for m in models} for s in ("train", "test")}
    train_q = {m: mean([x[0] for x in per["train"][m]]) for m in models}
    train_c = {m: mean([x[1] for x in per["train"][m]]) for m in models}
    best = sorted(models, key=lambda m: (-train_q[m], train_c[m]))[0]
    cheap = sorted(models, key=lambda m: (train_c[m], -train_q[m]))[0]
    singles = {m: {"quality": mean([x[0] for x in per["test"][m]]), "cost": mean([x[1] for x in per["test"][m]])} for m in models}
    oracle_q, oracle_c = [], []
    for sp, o in rows:
        if sp != "test":
            continue
        q, c = max(((s, -c) for s, c in o.values()))
        oracle_q.append(q)
        oracle_c.append(-c)
    max_cost = max(v["cost"] for v in singles.values())
    print(json.dumps({
        "prompts": sum(1 for sp, _ in rows if sp == "test"),
        "maxCost": max_cost,
        "oracle": {"quality": mean(oracle_q), "cost": mean(oracle_c)},
        "bestSingle": dict(model=best, **singles[best]),
        "cheapest": dict(model=cheap, **singles[cheap]),
        "singles": singles,
        "mixHullAiq": hull_aiq([(v["cost"], v["quality"]) for v in singles.values()], max_cost),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
