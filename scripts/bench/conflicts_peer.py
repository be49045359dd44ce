#!/usr/bin/env python3
"""The peer of `trellis bench conflicts`: rapidfuzz brute force over the same data.

For each query, process.extract over every record name (pre-processed once with
rapidfuzz.utils.default_process, scorer WRatio, limit 5), single-threaded. Prints
one JSON object: latency percentiles and the same quality measures as Trellis
(precision, recall, F1 at a score threshold; recall@1, recall@5).

usage: conflicts_peer.py RECORDS.csv QUERIES.csv [--threshold 90]
"""
import csv
import json
import sys
import time

from rapidfuzz import fuzz, process, utils


def main():
    records, queries = sys.argv[1], sys.argv[2]
    threshold = float(sys.argv[sys.argv.index("--threshold") + 1]) if "--threshold" in sys.argv else 90.0
    ids, names = [], []
    t = time.perf_counter()
    with open(records, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ids.append(row["id"])
            names.append(utils.default_process(row["name"]))
    prep_s = time.perf_counter() - t
    lat, tp, fp, dups, at1, at5 = [], 0, 0, 0, 0, 0
    with open(queries, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        q = utils.default_process(row["name"])
        t = time.perf_counter()
        found = process.extract(q, names, scorer=fuzz.WRatio, processor=None, limit=5)
        lat.append((time.perf_counter() - t) * 1000.0)
        truth = row["truth"] or None
        top = [ids[i] for (_, _, i) in found]
        if truth:
            dups += 1
            at1 += bool(top) and top[0] == truth
            at5 += truth in top
        if found and found[0][1] >= threshold:
            if truth == top[0]:
                tp += 1
            else:
                fp += 1
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / dups if dups else 1.0
    print(json.dumps({
        "peer": "rapidfuzz " + __import__("rapidfuzz").__version__ + " process.extract WRatio",
        "records": len(names), "queries": len(rows), "prepare_s": prep_s,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "threshold": threshold,
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "recall_at_1": at1 / dups if dups else 1.0, "recall_at_5": at5 / dups if dups else 1.0,
    }))


if __name__ == "__main__":
    main()
