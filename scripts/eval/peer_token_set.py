#!/usr/bin/env python3
"""The brute-force peer of `trellis bench conflicts-eval`: rapidfuzz
token_set_ratio over "name city" of every record, for every query.

Each query's best five records (process.extract, limit 5). Its threshold is
chosen on the answers (the best F1 over all thresholds), which flatters the
peer: a deployed matcher has to fix its threshold before it sees the data.
Prints one JSON object with F1 at that threshold, recall@1, recall@5 and
latency percentiles.

usage: peer_token_set.py RECORDS.csv QUERIES.csv
(columns: id,name,domain,country,city and, for queries, truth)
"""
import csv
import json
import sys
import time

from rapidfuzz import fuzz, process, utils


def text(row):
    return utils.default_process(f"{row['name']} {row.get('city') or ''}")


def best_f1(tops, duplicates):
    """tops: (score, correct) of each query's best candidate. The threshold
    with the best F1 (flag when score >= threshold)."""
    best = (0.0, 0.0, 0.0, 0.0)
    tops = sorted(tops, key=lambda x: -x[0])
    tp = fp = 0
    for i, (score, correct) in enumerate(tops):
        tp += correct
        fp += not correct
        if i + 1 < len(tops) and tops[i + 1][0] == score:
            continue
        p = tp / (tp + fp)
        r = tp / duplicates if duplicates else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[0]:
            best = (f1, score, p, r)
    return best


def main():
    records, queries = sys.argv[1], sys.argv[2]
    ids, texts = [], []
    with open(records, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ids.append(row["id"])
            texts.append(text(row))
    with open(queries, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    lat, tops, dups, at1, at5 = [], [], 0, 0, 0
    for row in rows:
        q = text(row)
        t = time.perf_counter()
        found = process.extract(q, texts, scorer=fuzz.token_set_ratio, processor=None, limit=5)
        lat.append((time.perf_counter() - t) * 1000.0)
        truth = row.get("truth") or None
        top = [ids[i] for (_, _, i) in found]
        if truth:
            dups += 1
            at1 += bool(top) and top[0] == truth
            at5 += truth in top
        if found:
            tops.append((found[0][1], truth is not None and top[0] == truth))
    f1, threshold, precision, recall = best_f1(tops, dups)
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0
    print(json.dumps({
        "peer": "rapidfuzz " + __import__("rapidfuzz").__version__ + " token_set_ratio(name + city)",
        "records": len(texts), "queries": len(rows), "duplicates": dups,
        "threshold": threshold, "precision": precision, "recall": recall, "f1": f1,
        "recall_at_1": at1 / dups if dups else 1.0, "recall_at_5": at5 / dups if dups else 1.0,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99),
    }))


if __name__ == "__main__":
    main()
