"""The autotuned LSH setting against a grid of K and L, on two extreme classification tasks.

For each data set the output layer's hash settings are varied while everything else stays
fixed: the model (features -> 128 ReLU -> N softmax, sparse output layer, DWTA hashing), the
seed and so the initial weights and hash functions' seeds, the batches (pre-built, the same
seeded shuffle per epoch for every setting), the epochs (from the second on, tables frozen
with label augmentation, ``model.train``'s default), Adam, batch 256, 2 threads.

  synthetic-100k   SyntheticXC of benchmarks/extreme_classification.py with 100,000 labels
                   (135,909 TF-IDF features, ~5 labels a row), sparsity 0.005, lr 1e-3;
                   65,536 training samples, 2 epochs
  wordnet_search   query -> one of 117,659 WordNet synsets, hashed text features (2^18),
                   sparsity 0.01, lr 2e-3 (as benchmarks/wordnet_search.py). The full training
                   set takes too long per setting, so a seeded random subset of classes is
                   trained on, all training rows of those classes (about 32,768 rows, 12K
                   classes), for 8 epochs, and tested on their held-out test queries; the
                   output layer keeps all 117,659 classes, so the tables index the full
                   catalogue. Why 8 epochs: after 2 on such a subset P@1 is still ~2% (the
                   model has barely started), where a 1-point window says nothing; by 8 it
                   is ~35% and rising slowly.

Settings: the autotuned one (``sb.autotune``; docs/autotune.md) and the grid K in {K*-1, K*,
K*+1} x L in {8, 16, 32, 64}, where K* is the autotuned K. A grid setting's reservoir R follows
the autotuner's rule for its K: R = clamp(2 * dim / 8**K, 8, 1024), twice the expected bucket
load, so the grid varies K and L and not R independently. The rebuild schedule is derived from
each setting (``model.train``'s default), as a user would get it.

Measured per setting: training wall time of ``model.train`` (all epochs, including table
builds and rebuilds; excluding data generation, loading, batch building and evaluation),
training samples/s, and P@1 on the test split with sparse inference (the active set from the
hash tables, as served) and dense inference (every output scored). Sparse-inference P@1 is the
headline for the target check, since it is what the hash settings drive; dense-inference P@1
shows what training alone reached. One run per setting, so the time ratio carries the noise
of single runs (a few percent on an idle machine; see the cpu column).

Target (the issue): the autotuned setting's P@1 is within 1 point of the grid's best P@1, at no
more than 1.2x the training time of that best setting. The check is printed per data set as
PASS or MISS.

A full default run takes about 11 minutes on an idle 2-core machine (about 3 for
synthetic-100k, 7.5 for wordnet_search; measured 649 s). Run it alone, from the repository root:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/autotune_grid.py --json results/autotune_grid.json

Smoke test (under two minutes): ``--quick``. ``--datasets`` picks one data set.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from _common import (MB, Stopwatch, format_table, git_revision, log, machine_info, release_memory,  # noqa: E402
                     set_threads, versions, write_json)
from extreme_classification import BatchList, N_FEATURES, SyntheticXC, epoch_rows, sb_batch  # noqa: E402

import sparsebolt as sb  # noqa: E402

DATASETS = ("synthetic-100k", "wordnet_search")
HIDDEN = 128
GRID_L = (8, 16, 32, 64)
K_OFFSETS = (-1, 0, 1)
# DWTA keys: 3 bits a hash, at most 30 bits
DWTA_BITS, DWTA_MAX_K = 3, 10
TARGET_POINTS, TARGET_TIME = 1.0, 1.2
EVAL_BATCH = 2048
WORDNET_FEATURES = 1 << 18
WORDNET_DIRS = (os.path.join(ROOT, "datasets", "wordnet_search"),
                os.path.join(os.path.dirname(ROOT), "shared", "data", "wordnet_search"))


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------

class EpochBatches:
    """Pre-built batches of each epoch (epoch_rows' seeded shuffles), so every setting trains
    on the same batches in the same order and batch building stays out of the timed region.
    ``sb.Model.train`` reads ``len``, ``batch_size`` and ``n_samples`` and iterates once an
    epoch; ``rewind`` before each training run."""

    def __init__(self, make_batch, n, batch_size, seed, epochs):
        self.epochs = [[make_batch(r) for r in epoch_rows(n, batch_size, seed, e)] for e in range(epochs)]
        self.batch_size, self.n_samples = batch_size, n
        self._next = 0

    def __len__(self):
        return len(self.epochs[0])

    def __iter__(self):
        epoch = self.epochs[self._next % len(self.epochs)]
        self._next += 1
        return iter(epoch)

    def rewind(self):
        self._next = 0


def load_synthetic(args):
    t = time.perf_counter()
    gen = SyntheticXC(N_FEATURES, 100_000, seed=args.seed)
    train, test = gen.splits(args.synthetic_train, args.synthetic_test)
    data = EpochBatches(lambda rows: sb_batch(train, rows), args.synthetic_train, args.batch_size, args.seed,
                        args.synthetic_epochs)
    n_test = args.synthetic_test
    test_batches = [sb_batch(test, np.arange(lo, min(lo + EVAL_BATCH, n_test))) for lo in range(0, n_test, EVAL_BATCH)]
    return {"name": "synthetic-100k", "dim": 100_000, "input_dim": N_FEATURES, "sparsity": 0.005,
            "learning_rate": 1e-3, "epochs": args.synthetic_epochs, "train": data, "test": test_batches,
            "n_train": args.synthetic_train, "n_test": n_test, "prepare_seconds": time.perf_counter() - t,
            "about": f"SyntheticXC(n_labels=100,000, seed={args.seed}): {args.synthetic_train:,} train / "
                     f"{n_test:,} test samples, {np.diff(train['offsets']).mean():.1f} nonzeros and "
                     f"{np.diff(train['lab_offsets']).mean():.2f} labels a row"}


def wordnet_files():
    """(train, test) paths: the copy bundled in datasets/, else ../shared/data; None if neither."""
    for folder in WORDNET_DIRS:
        for ext in (".csv.gz", ".csv"):
            train, test = (os.path.join(folder, name + ext) for name in ("train", "test"))
            if os.path.exists(train) and os.path.exists(test):
                return train, test
    return None


def _rows(data, rows, batch_size):
    part = data.batch(rows)
    x = part.inputs[0]
    return sb.data.SparseDataset(x.offsets, x.ids, x.vals, part.labels, data.dim, batch_size=batch_size)


def load_wordnet(args, files):
    t = time.perf_counter()
    feat = sb.data.HashedTextFeaturizer(dim=WORDNET_FEATURES)
    full_train, vocab = sb.data.load_text_csv(files[0], "query", "label", feat)
    full_test, _ = sb.data.load_text_csv(files[1], "query", "label", feat, label_vocab=vocab)
    n_classes = len(vocab)
    # a random subset of classes with all their training rows: their test queries stay
    # answerable (a random subset of rows would leave most test classes unseen)
    rng = np.random.default_rng([args.seed, 23])
    train_lab, test_lab = full_train.labels.ids, full_test.labels.ids
    order = rng.permutation(n_classes)
    per_class = np.bincount(train_lab, minlength=n_classes)[order]
    chosen = np.zeros(n_classes, dtype=bool)
    chosen[order[:int(np.searchsorted(np.cumsum(per_class), args.wordnet_train_rows)) + 1]] = True
    train_rows = np.flatnonzero(chosen[train_lab])
    test_rows = np.flatnonzero(chosen[test_lab])
    if test_rows.size > args.wordnet_test_rows:
        test_rows = np.sort(rng.choice(test_rows, args.wordnet_test_rows, replace=False))
    train = _rows(full_train, train_rows, args.batch_size)
    test = _rows(full_test, test_rows, EVAL_BATCH)
    data = EpochBatches(train.batch, train.n_samples, args.batch_size, args.seed, args.wordnet_epochs)
    return {"name": "wordnet_search", "dim": n_classes, "input_dim": WORDNET_FEATURES, "sparsity": 0.01,
            "learning_rate": 2e-3, "epochs": args.wordnet_epochs, "train": data, "test": list(test.ordered()),
            "n_train": train.n_samples, "n_test": test.n_samples, "prepare_seconds": time.perf_counter() - t,
            "about": f"{os.path.dirname(files[0])}: {int(chosen.sum()):,} of {n_classes:,} classes drawn at "
                     f"random, their {train.n_samples:,} of {full_train.n_samples:,} training rows and "
                     f"{test.n_samples:,} of their test queries (of {full_test.n_samples:,})"}


# ---------------------------------------------------------------------------------------
# settings and runs
# ---------------------------------------------------------------------------------------

def reservoir_for(dim, k):
    """The autotuner's reservoir for a DWTA key of ``k`` hashes: twice the expected bucket
    load, clamped to [8, 1024] (docs/autotune.md, step 2)."""
    load = max(dim / 2 ** (DWTA_BITS * k), 1.0)
    return int(min(1024, max(8, math.ceil(2 * load))))


def settings(ds, grid_l):
    """[(name, LSHConfig or None)]: the autotuned setting first, then the grid."""
    auto = sb.autotune(ds["dim"], HIDDEN, ds["sparsity"])
    ks = sorted({min(max(1, auto.k + o), DWTA_MAX_K) for o in K_OFFSETS})
    grid = [(f"K={k} L={L}", sb.LSHConfig(family="dwta", k=k, n_tables=L, reservoir=reservoir_for(ds["dim"], k)))
            for k in ks for L in grid_l]
    return [("autotuned", None)] + grid, auto


def build(ds, config, seed):
    inp = sb.Input(dim=ds["input_dim"])
    h = sb.Embedding(dim=HIDDEN, activation="relu")(inp)
    out = sb.FullyConnected(dim=ds["dim"], sparsity=ds["sparsity"], activation="softmax", sampling=config)(h)
    return sb.Model(inputs=inp, outputs=out, loss="categorical_cross_entropy", seed=seed), out.layer


def run_setting(ds, name, config, args):
    model, fc = build(ds, config, args.seed)
    data = ds["train"]
    data.rewind()
    sw = Stopwatch()
    with sw.running():
        history = model.train(data, epochs=ds["epochs"], learning_rate=ds["learning_rate"], verbose=False)
    n = ds["epochs"] * data.n_samples
    res = {}
    for mode, sparse in (("sparse", True), ("dense", False)):
        t = time.perf_counter()
        res[mode] = float(model.evaluate(ds["test"], metrics=["precision@1"], sparse_inference=sparse)["precision@1"])
        res[f"{mode}_eval_seconds"] = time.perf_counter() - t
    cfg, index = fc.index.config, fc.index
    out = {"setting": name, "k": cfg.k, "n_tables": cfg.n_tables, "reservoir": cfg.reservoir,
           "range_pow": cfg.range_pow, "table_mb": cfg.table_bytes() / MB, "n_active": fc.n_active,
           "expected_load": ds["dim"] / 2 ** cfg.range_pow, "rebuild_every": index.rebuild_every,
           "rehash_every": index.rehash_every, "rebuilds": index.rebuilds, "labels_inserted": index.labels_inserted,
           "train_seconds": sw.elapsed, "cpu_utilisation": sw.utilisation, "train_samples": n,
           "samples_per_s": n / sw.elapsed, "epoch_loss": [float(x) for x in history["loss"]],
           "p1_sparse": res["sparse"], "p1_dense": res["dense"],
           "eval_seconds": {"sparse": res["sparse_eval_seconds"], "dense": res["dense_eval_seconds"]}}
    log(f"  {name:<10} K={cfg.k} L={cfg.n_tables:<3} R={cfg.reservoir:<4} train {sw.elapsed:6.1f} s "
        f"({out['samples_per_s']:.0f}/s, cpu {sw.utilisation:.2f})  P@1 sparse {100 * res['sparse']:.2f} "
        f"dense {100 * res['dense']:.2f}  (eval {res['sparse_eval_seconds'] + res['dense_eval_seconds']:.1f} s)")
    del model, fc
    release_memory()
    return out


def check_target(runs, key):
    """The autotuned run against the grid's best by ``key`` (ties: the faster one)."""
    auto = runs[0]
    best = max(runs[1:], key=lambda r: (r[key], -r["train_seconds"]))
    points = 100 * (auto[key] - best[key])
    ratio = auto["train_seconds"] / best["train_seconds"]
    return {"metric": key, "best": best["setting"], "best_p1": best[key], "autotuned_p1": auto[key],
            "points": points, "time_ratio": ratio, "best_seconds": best["train_seconds"],
            "autotuned_seconds": auto["train_seconds"],
            "met": points >= -TARGET_POINTS and ratio <= TARGET_TIME}


def warm_up(ds, args):
    """Compile or load the kernels and touch this data set's shapes (training, the freeze
    with label augmentation, both inference modes) on a few batches, so the first timed
    setting pays for nothing the others do not. Every run starts with the previous model freed
    (collected, not just unreferenced): with one still alive the next training run took twice
    as long here (0.9 s against 0.4 s at --quick size)."""
    t = time.perf_counter()
    model = build(ds, None, args.seed)[0]
    model.train(BatchList(ds["train"].epochs[0][:4], args.batch_size), epochs=2,
                learning_rate=ds["learning_rate"], verbose=False)
    for sparse in (False, True):
        model.evaluate(ds["test"][:1], metrics=["precision@1"], sparse_inference=sparse)
    del model
    release_memory()
    log(f"  warm-up {time.perf_counter() - t:.1f} s")


def run_dataset(name, args):
    if name == "synthetic-100k":
        ds = load_synthetic(args)
    else:
        files = wordnet_files()
        if files is None:
            reason = "no train/test CSV in " + " or ".join(WORDNET_DIRS)
            log(f"== wordnet_search skipped: {reason}")
            return {"dataset": name, "skipped": reason}
        ds = load_wordnet(args, files)
    configs, auto = settings(ds, args.grid_l)
    log(f"== {name}: {ds['about']} (prepared in {ds['prepare_seconds']:.0f} s); autotuned K={auto.k} "
        f"L={auto.n_tables} R={auto.reservoir}; {len(configs) - 1} grid settings")
    warm_up(ds, args)
    runs = [run_setting(ds, setting, config, args) for setting, config in configs]
    if (runs[0]["k"], runs[0]["n_tables"], runs[0]["reservoir"]) != (auto.k, auto.n_tables, auto.reservoir):
        raise RuntimeError("the layer did not get sb.autotune's setting")
    out = {"dataset": name, "about": ds["about"], "outputs": ds["dim"], "input_dim": ds["input_dim"],
           "sparsity": ds["sparsity"], "learning_rate": ds["learning_rate"], "epochs": ds["epochs"],
           "n_train": ds["n_train"], "n_test": ds["n_test"], "prepare_seconds": ds["prepare_seconds"], "runs": runs,
           "target": check_target(runs, "p1_sparse"), "dense_inference_check": check_target(runs, "p1_dense")}
    del ds
    release_memory()
    return out


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------

def _pct(x):
    return f"{100 * x:.2f}"


def report(r):
    if "skipped" in r:
        return f"{r['dataset']}: skipped ({r['skipped']})"
    t = r["target"]
    lines = [f"{r['dataset']}: {r['outputs']:,} outputs, sparsity {r['sparsity']} "
             f"({r['runs'][0]['n_active']} active), lr {r['learning_rate']:g}, {r['epochs']} epochs of "
             f"{r['n_train']:,} samples, {r['n_test']:,} test", f"  {r['about']}", ""]
    headers = ["setting", "K", "L", "R", "load", "tables MB", "rebuild every", "train s", "samples/s", "cpu",
               "P@1 sparse", "P@1 dense", ""]
    rows = []
    for x in r["runs"]:
        mark = "best" if x["setting"] == t["best"] else ""
        rows.append([x["setting"], x["k"], x["n_tables"], x["reservoir"], f"{x['expected_load']:.1f}",
                     f"{x['table_mb']:.1f}", x["rebuild_every"], f"{x['train_seconds']:.1f}",
                     f"{x['samples_per_s']:.0f}", f"{x['cpu_utilisation']:.2f}", _pct(x["p1_sparse"]),
                     _pct(x["p1_dense"]), mark])
    lines.append(format_table(headers, rows, aligns="lrrrrrrrrrrrl"))
    lines.append("")
    lines.append(f"  target: autotuned P@1 (sparse inference) within {TARGET_POINTS:g} point of the grid's best, "
                 f"at <= {TARGET_TIME:g}x its training time")
    for c, label in ((t, "sparse inference (headline)"),
                     (r["dense_inference_check"], "dense inference (for reference)")):
        lines.append(f"  {label}: best grid {c['best']} P@1 {_pct(c['best_p1'])} in {c['best_seconds']:.1f} s; "
                     f"autotuned {_pct(c['autotuned_p1'])} in {c['autotuned_seconds']:.1f} s: "
                     f"{c['points']:+.2f} points, {c['time_ratio']:.2f}x time -> "
                     f"{'PASS' if c['met'] else 'MISS'}")
    return "\n".join(lines)


NOTES = """\
P@1: percent of the test split whose top-scored output is one of the sample's labels; 'sparse' scores
  only the active set the hash tables return (as served), 'dense' scores every output.
load: expected neurons a bucket, dim / 8^K. R: reservoir (bucket capacity), the autotuner's rule for K.
tables MB: 4 * L * 8^K * (R + 1) bytes. rebuild every: training batches between table rebuilds (derived
  per setting by model.train; tables freeze from epoch 2).
train s: wall time of model.train over all epochs (table builds included, evaluation excluded).
cpu: process CPU seconds per training wall second (2.00 = both threads busy).
best: the grid setting with the highest sparse-inference P@1 (ties: the faster)."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--synthetic-train", type=int, default=65_536, help="synthetic training samples")
    p.add_argument("--synthetic-test", type=int, default=5_000, help="synthetic test samples")
    p.add_argument("--wordnet-train-rows", type=int, default=32_768,
                   help="wordnet_search training rows (about: whole classes are drawn until this many)")
    p.add_argument("--wordnet-test-rows", type=int, default=5_000, help="at most this many wordnet_search test rows")
    p.add_argument("--grid-l", type=int, nargs="+", default=list(GRID_L), help="table counts L of the grid")
    p.add_argument("--synthetic-epochs", type=int, default=2, help="synthetic training epochs")
    p.add_argument("--wordnet-epochs", type=int, default=8, help="wordnet_search training epochs")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2,048 training and 1,000 test samples a data set, L in {8, 32}")
    p.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.synthetic_train = args.wordnet_train_rows = 2048
        args.synthetic_test = args.wordnet_test_rows = 1000
        args.grid_l = [8, 32]
    for name in ("synthetic_train", "synthetic_test", "wordnet_train_rows", "wordnet_test_rows",
                 "synthetic_epochs", "wordnet_epochs", "batch_size", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.grid_l) < 1:
        p.error("--grid-l values must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    threads = set_threads(args.threads)
    log(f"threads {threads}; datasets {args.datasets}; batch {args.batch_size}; seed {args.seed}")
    results = [run_dataset(name, args) for name in args.datasets]
    total = time.perf_counter() - t0
    rev = git_revision(HERE)
    v = versions()
    print(f"sparsebolt {v.get('sparsebolt')} at {rev or 'unknown revision'}, numpy {v.get('numpy')}, numba "
          f"{v.get('numba')}; {threads['sparsebolt']} threads, batch {args.batch_size}, seed {args.seed}; "
          f"{machine_info().get('cpu', '')}\n")
    for r in results:
        print(report(r) + "\n")
    print(NOTES)
    print(f"\ntotal wall time {total:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        write_json(args.json, {"args": vars(args), "threads": threads, "machine": machine_info(), "versions": v,
                               "revision": rev, "total_seconds": total, "results": results})
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
