"""Cold start on wordnet_search: a UniversalDeepTransformer trained from the synset
catalogue alone (``classes.csv``: lemmas, held-out ones removed, and glosses; no query),
judged on the test queries (held-out lemmas) against TF-IDF nearest class built from the
same texts (a class = its lemmas and gloss), word 1-2-grams and char_wb 3-5-grams.

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/cold_start.py [--classes 2000]

``--classes 0`` (the default) takes every synset: the catalogue has all 117,659 and every
test query counts. A positive number takes a random slice of the synsets that have test
queries, and only their queries.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._baselines import nearest_class, topk_hits  # noqa: E402
from benchmarks._common import format_table, git_revision, machine_info, write_json  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "wordnet_search"))
    p.add_argument("--classes", type=int, default=0, help="synsets in the slice (0: all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    return p.parse_args(argv)


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def main(argv=None):
    args = parse_args(argv)
    sb.set_num_threads(args.threads)
    catalogue = read(os.path.join(args.data, "classes.csv"))
    test = read(os.path.join(args.data, "test.csv"))
    if args.classes:
        rng = np.random.default_rng(args.seed)
        labels = sorted({r["label"] for r in test})
        pick = set(rng.choice(labels, args.classes, replace=False).tolist())
        catalogue = [r for r in catalogue if r["label"] in pick]
        test = [r for r in test if r["label"] in pick]
    queries = [r["query"] for r in test]
    gold = [r["label"] for r in test]
    rows = []

    udt = sb.UniversalDeepTransformer({"query": sb.types.text(), "label": sb.types.categorical()}, target="label")
    start = time.perf_counter()
    history = udt.cold_start(catalogue, strong_columns=["lemmas"], weak_columns=["gloss"], phrase_delimiter="|",
                             verbose=True)
    fit = time.perf_counter() - start
    got = udt.evaluate([{"query": q, "label": g} for q, g in zip(queries, gold)], metrics=["precision@1", "recall@10"])
    p1, r10 = got["precision@1"], got["recall@10"]
    rows.append(("sparsebolt cold_start (defaults)", f"{p1:.4f}", f"{r10:.4f}", f"{fit:.1f}"))
    results = {"udt": {"precision@1": p1, "recall@10": r10, "fit_s": fit, "epochs": len(history.epochs)}}

    docs = [r["lemmas"].replace("|", " ") + " " + r["gloss"] for r in catalogue]
    labels = [r["label"] for r in catalogue]
    for analyzer, ngrams in (("word", (1, 2)), ("char_wb", (3, 5))):
        classes, ranked, seconds = nearest_class(docs, labels, queries, analyzer=analyzer, ngram_range=ngrams)
        b1, b10 = topk_hits(classes, ranked, gold)
        rows.append((f"TF-IDF {analyzer} {ngrams[0]}-{ngrams[1]} nearest class", f"{b1:.4f}", f"{b10:.4f}",
                     f"{seconds:.1f}"))
        results[f"tfidf_{analyzer}"] = {"precision@1": b1, "recall@10": b10, "fit_s": seconds}

    print(f"\nwordnet_search cold start: {len(catalogue):,} synsets, {len(test):,} test queries, "
          f"{args.threads} threads, revision {git_revision(ROOT)}")
    print(format_table(["model", "P@1", "R@10", "fit s"], rows, "lrrr"))
    if args.json:
        write_json(args.json, {"args": vars(args), "machine": machine_info(), "revision": git_revision(ROOT),
                               "results": results})


if __name__ == "__main__":
    main()
