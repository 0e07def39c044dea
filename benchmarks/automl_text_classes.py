"""The UniversalDeepTransformer with its defaults (``train(data)`` and nothing else) on one
kind of text task at 10 to 1,412 classes, against TF-IDF word 1-2-grams + LinearSVC (and
LogisticRegression up to 100 classes), in one process: test accuracy, macro-F1 and fit
seconds, with each baseline's ratio of fit times (the UDT's over its own).

The task: a WordNet noun synset's gloss -> its hypernym (the first listed parent;
``--target grandparent``: that parent's own parent), wordnet_graph's train / test split,
keeping the N labels with the most training glosses among those the test split holds (ties
by label). N = 1,412 is about benchmarks/automl.py's wordnet_hypernym (the parents with at
least 8 training children). The issue's fit-time bar reads off the ratio column: within 2x
up to 100 classes, under 1x from 1,000. Fit time as in benchmarks/automl.py: from the
training CSV file to a fitted model, an untimed UDT first trains on 300 rows (and on a row
of each label, which the first 300 rows lack above 300 classes). Run from the
repository root, under the shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_text_classes.py [--classes 10,200] [--seeds 2]

The data are read from ../shared/data beside the repository (``--data`` to change).
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._common import limit_threads  # noqa: E402
from benchmarks.automl import gloss_rows, most_trained_labels, report, text_task  # noqa: E402

CLASSES = (10, 50, 100, 101, 200, 300, 500, 1000, 1412)
# LogisticRegression's coefficients grow with the classes times the 1-2-grams (1,412 took 17 GB)
LOGISTIC_MAX_CLASSES = 100


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--classes", default=",".join(map(str, CLASSES)), help="comma-separated class counts")
    p.add_argument("--target", choices=("parent", "grandparent"), default="parent")
    p.add_argument("--seeds", type=int, default=1, help="UDT seeds 0..N-1, each its own row (the fit ratios are seed 0's)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    try:
        args.classes = [int(n) for n in args.classes.split(",")]
    except ValueError:
        p.error(f"--classes must be comma-separated integers. Got {args.classes!r}.")
    if min(args.classes) < 2 or args.seeds < 1:
        p.error("--classes must be at least 2 and --seeds at least 1.")
    return args


def top_classes(rows, n):
    """(train rows, test rows) of the ``n`` labels with the most training rows that the test
    split holds; the training rows in a seeded random order (siblings sit together in the
    file, and the UDT's untimed warm-up fit takes the first rows)."""
    train, test = ([r for r in rows if r["split"] == name] for name in ("train", "test"))
    keep = most_trained_labels(train, test, n)
    train, test = ([r for r in part if r["label"] in keep] for part in (train, test))
    return [train[i] for i in np.random.default_rng(0).permutation(len(train))], test


def run(rows, n, target, seeds, workdir):
    train, test = top_classes(rows, n)
    n = len({r["label"] for r in train})
    print(f"gloss -> {target}, {n:,} classes: {len(train):,} training and {len(test):,} test glosses", flush=True)
    return text_task("wordnet_graph", f"{n} {target}s", workdir, "text", train, test,
                     logistic=n <= LOGISTIC_MAX_CLASSES, seeds=seeds)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.data):
        raise SystemExit(f"no data at {args.data}")
    limit_threads(args.threads)
    rows = gloss_rows(args.data, args.target)
    start, out = time.perf_counter(), []
    with tempfile.TemporaryDirectory() as workdir:
        for n in args.classes:
            out += run(rows, n, args.target, args.seeds, workdir)
    print(report(out))
    print(f"\ntotal {time.perf_counter() - start:.0f} s, {sb.get_num_threads()} threads")
    return out


if __name__ == "__main__":
    main()
