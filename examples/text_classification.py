"""A 20-class text task with scikit-learn: HashingVectorizer + SparseClassifier in GridSearchCV,
against LogisticRegression in the same pipeline and search, in one run.

The data: clothing_reviews (review text -> product class_name, 20 classes; 18,102 training and
4,527 test reviews) from ../shared/data beside the repository (``--data`` to change). Each
method's grid is searched by 3-fold cross-validation on the training split, refitted on all of
it, and scored once on the test split. Fit time is the wall time of ``GridSearchCV.fit``
(search and refit) and of the refit alone. Run from the repository root under the shared lock
(2 threads):

    flock /tmp/sparsebolt-bench.lock .venv/bin/python examples/text_classification.py
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from sparsebolt.sklearn import SparseClassifier  # noqa: E402


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], np.array([r["class_name"] for r in rows])


def vectorizer():
    return HashingVectorizer(n_features=2 ** 18, ngram_range=(1, 2), alternate_sign=False)


def searches(seed):
    """(name, GridSearchCV) of each method: the same vectorizer, a small grid each."""
    sparse = Pipeline([("vec", vectorizer()),
                       ("clf", SparseClassifier(hidden_dim=128, batch_size=128, random_state=seed))])
    linear = Pipeline([("vec", vectorizer()), ("clf", LogisticRegression(max_iter=300))])
    return [("HashingVectorizer + SparseClassifier",
             GridSearchCV(sparse, {"clf__epochs": [3, 6], "clf__learning_rate": [1e-3, 3e-3]}, cv=3)),
            ("HashingVectorizer + LogisticRegression",
             GridSearchCV(linear, {"clf__C": [1.0, 10.0]}, cv=3))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="use only this many training reviews (a smoke test)")
    args = p.parse_args(argv)
    root = os.path.join(args.data, "clothing_reviews")
    if not os.path.isdir(root):
        raise SystemExit(f"no clothing_reviews data at {root} (--data)")
    sb.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    train_x, train_y = read(os.path.join(root, "train.csv"))
    test_x, test_y = read(os.path.join(root, "test.csv"))
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    print(f"load average at the start {os.getloadavg()[0]:.2f}")
    print(f"clothing_reviews text -> class_name: {len(train_x):,} training, {len(test_x):,} test reviews, "
          f"{len(set(train_y))} classes; sparsebolt {sb.__version__}, {sb.get_num_threads()} threads")
    rows = []
    for name, search in searches(args.seed):
        t = time.perf_counter()
        search.fit(train_x, train_y)
        seconds = time.perf_counter() - t
        pred = search.predict(test_x)
        best = {k.split("__", 1)[1]: v for k, v in search.best_params_.items()}
        rows.append((name, best, search.best_score_, accuracy_score(test_y, pred),
                     f1_score(test_y, pred, average="macro"), seconds, search.refit_time_))
        print(f"  {name}: best {best}, {seconds:.1f} s", flush=True)
    print()
    print("| pipeline | best parameters (3-fold CV) | CV accuracy | test accuracy | test macro-F1 "
          "| search + refit s | refit s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, best, cv, acc, f1, seconds, refit in rows:
        shown = ", ".join(f"{k}={v:g}" for k, v in best.items())
        print(f"| {name} | {shown} | {cv:.4f} | {acc:.4f} | {f1:.4f} | {seconds:.1f} | {refit:.1f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
