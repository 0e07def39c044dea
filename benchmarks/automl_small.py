"""The UniversalDeepTransformer on small data sets, with its defaults (``train(data)`` and
nothing else) and with the defaults it had before small sets got their own (40 bins a
number, no number positions, 256 rows a step), against the simplest baselines; mean test
metrics over several splits, in one process.

    wine, breast_cancer, digits   scikit-learn's bundled tables (all numbers; 178, 569 and
                                  1,797 rows; 5 stratified 70/30 splits): accuracy (AUC
                                  for two classes); HistGradientBoostingClassifier and
                                  StandardScaler + LogisticRegression
    adult_500, adult_2000         adult's training rows subsampled (3 samples), tested on
                                  its whole test set; the same baselines (one-hot
                                  categories for LogisticRegression)
    clothing_1000, clothing_4000  clothing reviews' training rows subsampled (3 samples),
                                  text -> class_name and -> recommended, tested on the
                                  whole test set; TF-IDF word 1-2-grams + LinearSVC

The subsampled sets are read from ../shared/data beside the repository (``--data`` to
change) and skipped when it is absent. Run from the repository root:

    .venv/bin/python benchmarks/automl_small.py [--only wine,adult_500] [--threads 1]
"""
import argparse
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._baselines import tabular_baselines  # noqa: E402
from benchmarks._common import chosen_tasks, format_table  # noqa: E402
from benchmarks.automl import ADULT_CATEGORICAL, ADULT_NUMERIC  # noqa: E402

TASKS = ("wine", "breast_cancer", "digits", "adult_500", "adult_2000", "clothing_1000", "clothing_4000")
BEFORE = "sparsebolt UDT, before (40 bins, no positions, 256 rows a step)"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--only", default=",".join(TASKS), help="comma-separated subset of " + ", ".join(TASKS))
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def udt_scores(train, test, types, target, before, seed):
    """(accuracy, AUC or None) of a UDT trained with ``train(data)`` only (``before``: the
    former small-set defaults)."""
    if before:
        types = {c: sb.types.numerical(bins=40, position=False) if t.kind == "numerical" else t
                 for c, t in types.items()}
    model = sb.UniversalDeepTransformer(types, target=target, seed=seed)
    model.train(train, verbose=False, batch_size=256 if before else None)
    res = model.evaluate(test, metrics=["categorical_accuracy"] + (["auc"] if model.n_classes == 2 else []))
    return res["categorical_accuracy"], res.get("auc")


def bundled(name):
    """(splits of (train frame, test frame), column types): a scikit-learn table, 5 splits."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    x, y = getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=True)
    x.columns = [f"x{i}" for i in range(x.shape[1])]
    splits = []
    for seed in range(5):
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
        splits.append((x_tr.assign(y=y_tr.astype(str)), x_te.assign(y=y_te.astype(str))))
    types = {c: sb.types.numerical() for c in x.columns}
    types["y"] = sb.types.categorical()
    return splits, types


def run_tabular(splits, types, categorical=()):
    """{method: [(accuracy, AUC), ...]} over the splits, target column 'y'."""
    scores = {}
    for seed, (train, test) in enumerate(splits):
        for before, name in ((False, "sparsebolt UDT (defaults)"), (True, BEFORE)):
            scores.setdefault(name, []).append(udt_scores(train, test, types, "y", before, seed))
        x_cols = [c for c in train.columns if c != "y"]
        for name, s in tabular_baselines(train[x_cols], train["y"], test[x_cols], test["y"], categorical).items():
            scores.setdefault(name, []).append(s[:2])
    return scores


def adult(data, n):
    import pandas as pd

    full = pd.read_csv(os.path.join(data, "adult", "train.csv")).rename(columns={"income": "y"})
    test = pd.read_csv(os.path.join(data, "adult", "test.csv")).rename(columns={"income": "y"})
    types = {c: sb.types.categorical() for c in ADULT_CATEGORICAL}
    types.update({c: sb.types.numerical() for c in ADULT_NUMERIC})
    types["y"] = sb.types.categorical()
    return run_tabular([(full.sample(n=n, random_state=s), test) for s in range(3)], types, ADULT_CATEGORICAL)


def clothing(data, n):
    """{(target, method): [(accuracy, AUC), ...]} over 3 subsamples."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from benchmarks._baselines import linear_scores, tfidf_linear

    root = os.path.join(data, "clothing_reviews")
    full = pd.read_csv(os.path.join(root, "train.csv")).dropna(subset=["text"])
    test = pd.read_csv(os.path.join(root, "test.csv")).dropna(subset=["text"])
    scores = {}
    for target in ("class_name", "recommended"):
        te = test[["text", target]].astype({target: str})
        for seed in range(3):
            tr = full.sample(n=n, random_state=seed)[["text", target]].astype({target: str})
            types = {"text": sb.types.text(), target: sb.types.categorical()}
            for before, name in ((False, "sparsebolt UDT (defaults)"), (True, BEFORE)):
                scores.setdefault((target, name), []).append(udt_scores(tr, te, types, target, before, seed))
            pipe, _ = tfidf_linear(list(tr["text"]), list(tr[target]), list(te["text"]))["TF-IDF 1-2-grams + LinearSVC"]
            acc = float((pipe.predict(list(te["text"])) == te[target].to_numpy()).mean())
            auc = None
            if target == "recommended":
                auc = roc_auc_score(te[target] == "1", linear_scores(pipe, list(te["text"]))[:, 1])
            scores.setdefault((target, "TF-IDF 1-2-grams + LinearSVC"), []).append((acc, auc))
    return scores


def main(argv=None):
    args = parse_args(argv)
    only = chosen_tasks(args.only, TASKS)
    sb.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    rows = []
    for task in only:
        if task.startswith(("adult", "clothing")) and not os.path.isdir(args.data):
            print(f"{task}: skipped, no data at {args.data}")
            continue
        if task in ("wine", "breast_cancer", "digits"):
            found = {(task, k): v for k, v in run_tabular(*bundled(task)).items()}
        elif task.startswith("adult"):
            n = int(task.split("_")[1])
            found = {(task, k): v for k, v in adult(args.data, n).items()}
        else:
            n = int(task.split("_")[1])
            found = {(f"{task} {target}", k): v for (target, k), v in clothing(args.data, n).items()}
        for (name, method), scores in found.items():
            acc = np.mean([a for a, _ in scores])
            aucs = [u for _, u in scores if u is not None]
            rows.append([name, method, f"{acc:.4f}", f"{np.mean(aucs):.4f}" if aucs else "", str(len(scores))])
            print("  ".join(rows[-1]), flush=True)
    print()
    print(format_table(["data set", "method", "acc", "AUC", "splits"], rows, aligns="llrrr"))


if __name__ == "__main__":
    main()
