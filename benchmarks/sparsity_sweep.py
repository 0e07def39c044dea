"""Sparsity sweep: what the output layer's sparsity buys and costs, in training and in inference.

On the synthetic extreme-classification data of ``extreme_classification.py`` (``SyntheticXC``,
135,909 sparse features, here 100,000 labels), one model per sparsity in 0.001, 0.005, 0.01,
0.05, 0.1 and 1.0 (dense) is trained, all of shape 135,909 -> 128 ReLU -> 100,000 softmax, from
the same seed on the same batches in the same order (a fresh seeded shuffle each epoch), for 2
epochs with label augmentation (the default: the hash tables freeze and pin missed labels from
the second epoch), Adam lr 1e-3, batch 256, on 2 threads. For each model:

  training samples/s   over both epochs (the second, with frozen tables, is faster)
  P@1, P@5             on the test split, with sparse inference (the layer's sparsity) and dense
  latency p50, p99     single-sample ``model.predict`` (1-sample batches, sparsebolt's serial path)
                       with sparse inference, one test sample after another
  batch samples/s      ``model.evaluate`` over the test split in batches of 2,048, sparse and dense

At sparsity 1.0 the layer is dense, so its "sparse" columns are dense inference.

Then the knob: the model trained at 0.005 is set, without retraining, to each level with
``model.set_sparsity`` (hash settings derived again, tables rebuilt from the trained weights;
labels pinned during training are not kept, hence the 0.005 knob row too) and its sparse-inference
P@1, P@5, latency and batch throughput are measured at each.

Writes a table to stdout, ``sparsity_sweep.json`` and ``sparsity_sweep.png`` (P@1 against
training samples/s, and P@1 against single-sample latency for the trained-at and knob series)
to ``--out-dir`` (default results/). A full default run takes about 7 minutes on 2 idle cores,
most of it training the dense (1.0) and 0.1 models. Run alone on the machine:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/sparsity_sweep.py

Smoke test (about a minute): ``--quick``.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (format_table, git_revision, log, machine_info, release_memory, set_threads, versions,  # noqa: E402
                     without_compiles, write_json)
from extreme_classification import (HIDDEN, N_FEATURES, BatchList, SyntheticXC, epoch_rows, sb_batch,  # noqa: E402
                                    precision_at)
from serving import in_process_latency  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402

LEVELS = (0.001, 0.005, 0.01, 0.05, 0.1, 1.0)
KNOB_FROM = 0.005
LEARNING_RATE = 1e-3
METRICS = ["precision@1", "precision@5"]


class EpochBatches:
    """Pre-built training batches for ``model.train``, a fresh seeded shuffle each epoch
    (``epoch_rows``); built before training so the timed epochs do not pay for slicing.
    ``rewind`` before each model so every model sees the same batches in the same order."""

    def __init__(self, split, batch_size, seed, epochs):
        n = split["offsets"].size - 1
        self.epochs = [BatchList([sb_batch(split, r) for r in epoch_rows(n, batch_size, seed, e)], batch_size)
                       for e in range(epochs)]
        self.batch_size, self.n_samples = batch_size, n
        self._served = 0

    def rewind(self):
        self._served = 0

    def __len__(self):
        return len(self.epochs[0])

    def __iter__(self):
        batches = self.epochs[self._served % len(self.epochs)]
        self._served += 1
        return iter(batches)


def build_model(n_labels, sparsity, seed):
    inp = sb.Input(dim=N_FEATURES)
    hidden = sb.Embedding(dim=HIDDEN, activation="relu")(inp)
    out = sb.FullyConnected(dim=n_labels, sparsity=sparsity, activation="softmax", name="output")(hidden)
    return sb.Model(inputs=inp, outputs=out, loss="categorical_cross_entropy", seed=seed)


def single_values(split, n):
    """The first ``n`` samples of a split as 1-sample Values (what a serving call passes)."""
    return [sb_batch(split, np.array([i])).inputs[0] for i in range(n)]


def test_batches(split, batch_size):
    n = split["offsets"].size - 1
    return [sb_batch(split, np.arange(lo, min(lo + batch_size, n))) for lo in range(0, n, batch_size)]


def timed_evaluate(model, batches, sparse):
    """P@1, P@5 and batch throughput (test samples per second of ``model.evaluate``)."""
    n = sum(b.batch_size for b in batches)
    t = time.perf_counter()
    res = model.evaluate(batches, metrics=METRICS, sparse_inference=sparse)
    seconds = time.perf_counter() - t
    return {"precision@1": float(res["precision@1"]), "precision@5": float(res["precision@5"]),
            "seconds": seconds, "samples_per_s": n / seconds}


def latency(model, values, sparse, n):
    p50, p99, rate = in_process_latency(model, values, sparse, n)
    return {"p50_ms": p50, "p99_ms": p99, "requests_per_s": rate, "samples": n}


def inference(model, sparsity, batches, values, n_latency):
    """Sparse-inference quality, latency and throughput (dense inference when the layer is)."""
    sparse = sparsity < 1.0
    # each figure measured again where numba compiled inside it (a cold cache)
    return {"inference": "sparse" if sparse else "dense",
            **without_compiles(lambda: timed_evaluate(model, batches, sparse)),
            "latency": without_compiles(lambda: latency(model, values, sparse, n_latency))}


def warm_up(seed):
    """Load sparsebolt's compiled kernels and start its thread pool on a tiny problem (sparse and
    dense training, label augmentation, batch and single-sample inference, set_sparsity), so
    no timed phase pays for it. 5,000 outputs: wider than inference's dense-scoring threshold."""
    t = time.perf_counter()
    gen = SyntheticXC(n_labels=5_000, seed=seed + 1)
    train, test = gen.splits(1024, 256)
    batches, values = test_batches(test, 128), single_values(test, 30)
    for s in (0.05, 1.0):
        model = build_model(5_000, s, seed)
        model.train(EpochBatches(train, 256, seed, 2), epochs=2, learning_rate=LEARNING_RATE, verbose=False)
        for sparse in (True, False):
            model.evaluate(batches, metrics=METRICS, sparse_inference=sparse)
            in_process_latency(model, values, sparse, 5)
    model.set_sparsity("output", 0.01)
    model.evaluate(batches, metrics=METRICS, sparse_inference=True)
    log(f"warm-up {time.perf_counter() - t:.1f} s")


def train_level(n_labels, sparsity, data, batches, values, args):
    model = build_model(n_labels, sparsity, args.seed)
    history = model.train(data, epochs=args.epochs, learning_rate=LEARNING_RATE, verbose=False,
                          label_augmentation=True)
    seconds = float(sum(history["seconds"]))
    fc = model.layer("output")
    row = {"sparsity": sparsity, "active_per_sample": fc.n_active, "train_seconds": seconds,
           "epoch_seconds": [float(s) for s in history["seconds"]],
           "train_samples_per_s": args.epochs * data.n_samples / seconds,
           "loss": [float(x) for x in history["loss"]]}
    if fc.is_sparse:
        c = fc.index.config
        row["lsh"] = f"{c.family} K={c.k} L={c.n_tables} R={c.reservoir}"
        row["labels_pinned"] = fc.index.labels_inserted
    row["sparse"] = inference(model, sparsity, batches, values, args.latency_samples)
    row["dense"] = row["sparse"] if sparsity == 1.0 else without_compiles(lambda: timed_evaluate(model, batches, False))
    s, d = row["sparse"], row["dense"]
    log(f"  sparsity {sparsity:g}: {row['train_samples_per_s']:,.0f} samples/s; P@1 sparse {100 * s['precision@1']:.2f} "
        f"dense {100 * d['precision@1']:.2f}; latency p50 {s['latency']['p50_ms']:.3f} p99 "
        f"{s['latency']['p99_ms']:.3f} ms")
    return model, row


def knob(model, batches, values, args):
    rows = []
    for s in LEVELS:
        t = time.perf_counter()
        model.set_sparsity("output", s)
        row = {"sparsity": s, "active_per_sample": model.layer("output").n_active,
               "set_sparsity_seconds": time.perf_counter() - t}
        row.update(inference(model, s, batches, values, args.latency_samples))
        log(f"  knob {KNOB_FROM:g} -> {s:g}: P@1 {100 * row['precision@1']:.2f}; latency p50 "
            f"{row['latency']['p50_ms']:.3f} p99 {row['latency']['p99_ms']:.3f} ms")
        rows.append(row)
    return rows


def _pct(x):
    return f"{100 * x:.2f}"


def report(r):
    lines = [f"{r['outputs']:,} outputs, {r['train_samples']:,} training samples x {r['epochs']} epochs "
             f"(label augmentation from epoch 2), {r['test_samples']:,} test samples; batch 256, "
             f"{r['threads']} threads", ""]
    rows = []
    for x in r["trained"]:
        s, d = x["sparse"], x["dense"]
        rows.append([f"{x['sparsity']:g}", f"{x['active_per_sample']:,}", f"{x['train_samples_per_s']:,.0f}",
                     _pct(s["precision@1"]) if x["sparsity"] < 1 else "-", _pct(d["precision@1"]),
                     _pct(s["precision@5"]) if x["sparsity"] < 1 else "-", _pct(d["precision@5"]),
                     f"{s['latency']['p50_ms']:.3f}", f"{s['latency']['p99_ms']:.3f}",
                     f"{s['samples_per_s']:,.0f}" if x["sparsity"] < 1 else "-", f"{d['samples_per_s']:,.0f}"])
    lines.append("Trained at each sparsity")
    lines.append(format_table(["sparsity", "active", "train/s", "P@1 sp", "P@1 dn", "P@5 sp", "P@5 dn",
                               "p50 ms", "p99 ms", "batch/s sp", "batch/s dn"], rows))
    rows = [[f"{x['sparsity']:g}", f"{x['active_per_sample']:,}", _pct(x["precision@1"]), _pct(x["precision@5"]),
             f"{x['latency']['p50_ms']:.3f}", f"{x['latency']['p99_ms']:.3f}", f"{x['samples_per_s']:,.0f}",
             f"{x['set_sparsity_seconds']:.2f}"] for x in r["knob"]]
    lines += ["", f"The knob: the model trained at {KNOB_FROM:g}, set to each sparsity for inference (no retraining)"]
    lines.append(format_table(["sparsity", "active", "P@1", "P@5", "p50 ms", "p99 ms", "batch/s", "set s"], rows))
    lines += ["",
              "P@k in percent; sp = sparse inference at the layer's sparsity, dn = dense inference (every output",
              "scored); at 1.0 the layer is dense and so is its inference. train/s: training samples per second",
              "over all epochs. p50/p99: single-sample model.predict latency (top 5; sparse inference, dense at",
              f"1.0) over {r['latency_samples']:,} test samples one at a time. batch/s: test samples per second of",
              f"model.evaluate in batches of {r['eval_batch']:,}. set s: seconds of set_sparsity (table rebuild).",
              f"Reference P@1: most popular training label {_pct(r['popularity_p1'])}."]
    return "\n".join(lines)


def plot(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.8))
    trained = r["trained"]
    p1 = [100 * x["sparse"]["precision@1"] for x in trained]
    a.plot([x["train_samples_per_s"] for x in trained], p1, "o-", color="C0", label="sparse inference")
    a.plot([x["train_samples_per_s"] for x in trained], [100 * x["dense"]["precision@1"] for x in trained],
           "s--", color="C0", mfc="none", alpha=0.6, label="dense inference")
    for x, y in zip(trained, p1):
        a.annotate(f"{x['sparsity']:g}", (x["train_samples_per_s"], y), textcoords="offset points", xytext=(5, 5))
    a.set_xscale("log")
    a.set_xlabel("training throughput (samples/s, log scale)")
    a.set_ylabel("P@1 (%)")
    a.set_title("trained at each sparsity")
    a.legend()
    for rows, key, style, color, name in ((trained, "sparse", "o-", "C0", "trained at each sparsity"),
                                          (r["knob"], None, "^-", "C1", f"trained at {KNOB_FROM:g}, set_sparsity")):
        pts = [x[key] if key else x for x in rows]
        p50 = [p["latency"]["p50_ms"] for p in pts]
        p99 = [p["latency"]["p99_ms"] for p in pts]
        y = [100 * p["precision@1"] for p in pts]
        b.plot(p50, y, style, color=color, label=f"{name} (p50; bar to p99)")
        b.hlines(y, p50, p99, color=color, alpha=0.5)
        for x, xp, yp in zip(rows, p50, y):
            b.annotate(f"{x['sparsity']:g}", (xp, yp), textcoords="offset points", xytext=(5, -12 if key else 5),
                       color=color)
    b.set_xscale("log")
    b.set_xlabel("single-sample latency (ms, log scale)")
    b.set_ylabel("P@1 (%)")
    b.set_title("inference (sparse; dense at 1.0)")
    b.legend()
    fig.suptitle(f"{r['outputs']:,} outputs, {r['train_samples']:,} samples x {r['epochs']} epochs, "
                 f"{r['threads']} threads")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--outputs", type=int, default=100_000, help="labels (output width)")
    p.add_argument("--train-samples", type=int, default=None, help="training samples an epoch (default 65,536)")
    p.add_argument("--test-samples", type=int, default=None, help="test samples (default 10,000)")
    p.add_argument("--epochs", type=int, default=2, help="epochs (label augmentation acts from the second)")
    p.add_argument("--latency-samples", type=int, default=None,
                   help="single-sample predictions timed per measurement (default 1,000)")
    p.add_argument("--eval-batch", type=int, default=2048, help="test samples per evaluate batch")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", default=os.path.join(ROOT, "results"), help="where the JSON and PNG go")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 20,000 outputs, 4,096 training, 1,000 test and 200 latency samples")
    args = p.parse_args(argv)
    if args.quick:
        args.outputs = 20_000
    defaults = (4096, 1000, 200) if args.quick else (65_536, 10_000, 1000)
    for name, default in zip(("train_samples", "test_samples", "latency_samples"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    for name in ("outputs", "train_samples", "test_samples", "epochs", "latency_samples", "eval_batch", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    threads = set_threads(args.threads)
    warm_up(args.seed)
    gen = SyntheticXC(n_labels=args.outputs, seed=args.seed)
    train, test = gen.splits(args.train_samples, args.test_samples)
    data = EpochBatches(train, 256, args.seed, args.epochs)
    batches = test_batches(test, args.eval_batch)
    values = single_values(test, min(args.latency_samples, args.test_samples))
    top = np.full((args.test_samples, 1), np.bincount(train["lab_ids"], minlength=args.outputs).argmax())
    r = {"outputs": args.outputs, "train_samples": args.train_samples, "test_samples": args.test_samples,
         "epochs": args.epochs, "threads": threads["sparsebolt"], "latency_samples": args.latency_samples,
         "eval_batch": args.eval_batch,
         "popularity_p1": precision_at(top, test["lab_offsets"], test["lab_ids"], args.outputs)["precision@1"],
         "trained": []}
    log(f"{args.outputs:,} outputs, {args.train_samples:,} training samples x {args.epochs} epochs")
    knob_model = None
    for s in LEVELS:
        data.rewind()
        model, row = train_level(args.outputs, s, data, batches, values, args)
        r["trained"].append(row)
        if s == KNOB_FROM:
            knob_model = model
        del model
        release_memory()
    r["knob"] = knob(knob_model, batches, values, args)
    r["total_seconds"] = time.perf_counter() - t0
    text = report(r)
    print(text)
    print(f"\ntotal wall time {r['total_seconds']:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    os.makedirs(args.out_dir, exist_ok=True)
    json_path, png_path = (os.path.join(args.out_dir, f"sparsity_sweep.{ext}") for ext in ("json", "png"))
    write_json(json_path, {"args": vars(args), "machine": machine_info(), "versions": versions(),
                           "revision": git_revision(ROOT), **r})
    plot(r, png_path)
    print(f"written: {json_path}, {png_path}")


if __name__ == "__main__":
    main()
