"""sparsebolt against a dense PyTorch model of the same shape, and against two TF-IDF
nearest-class baselines, on the WordNet search data set.

Both models see the same hashed features (sb.data.HashedTextFeaturizer: words, bigrams and
character 3-5-grams, IDF-weighted, as in examples/wordnet_search.py), the same shuffled
batches in the same order, the same number of epochs and the same initial weights (copied
from sparsebolt's freshly built model), on the same number of threads:

    Embedding(features -> hidden, sum of value-weighted rows + bias, linear)
    -> FullyConnected(hidden -> 117,659 synsets, softmax)

sparsebolt trains the output layer sparsely (LSH-selected neurons); PyTorch runs
nn.EmbeddingBag(mode="sum", per_sample_weights) + bias -> nn.Linear -> full softmax
cross-entropy with Adam(eps=1e-7), as dense as it comes. Before the timed PyTorch run a few
batches of each Adam implementation (for-loop default, foreach, fused) are timed and the
fastest is used for the full run.

The baselines (scikit-learn, ``benchmarks/_baselines.nearest_class``) turn each class's
training queries, joined into one document, into a sublinear-TF TF-IDF vector (of word 1-2-grams;
of char_wb 3-5-grams) and rank the classes by cosine similarity to the query's vector; their
"train s" is the fit of the vectorizer.

Reported: precision@1 and recall@5 (and recall@10) on the test split, training seconds and
training samples/s of each, and their ratio. Timed training excludes data loading and
evaluation.

Run from the repository root (this script takes minutes to tens of minutes):

    .venv/bin/python benchmarks/wordnet_search.py [--epochs 4] [--json results/wordnet_search.json]

The data are read from datasets/wordnet_search/ beside this folder.
"""
import argparse
import itertools
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "datasets", "wordnet_search")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks._common import import_torch_first  # noqa: E402

import_torch_first()
import sparsebolt as sb  # noqa: E402
from benchmarks._baselines import nearest_class, topk_hits  # noqa: E402

THREADS = 2
METRICS = ("precision@1", "recall@5", "recall@10")
TEST_BATCH = 2048


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=4, help="training epochs (both models)")
    p.add_argument("--hidden", type=int, default=256, help="width of the embedding (hidden) layer")
    p.add_argument("--sparsity", type=float, default=0.005, help="sparsebolt output layer sparsity")
    p.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (both models)")
    p.add_argument("--batch-size", type=int, default=256, help="training batch size (both models)")
    p.add_argument("--feature-dim", type=int, default=1 << 18, help="hashed feature space width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-variants", default="default,foreach,fused",
                   help="comma-separated Adam implementations to time before the PyTorch run")
    p.add_argument("--probe-batches", type=int, default=12,
                   help="batches timed per PyTorch Adam variant (after 3 warm-up batches)")
    p.add_argument("--train-rows", type=int, default=None,
                   help="train on only the first N training rows (smoke tests); default all")
    p.add_argument("--test-rows", type=int, default=None,
                   help="evaluate on only the first N test rows (smoke tests); default all")
    p.add_argument("--skip-torch", action="store_true", help="do not run the PyTorch model")
    p.add_argument("--skip-baselines", action="store_true",
                   help="do not run the TF-IDF nearest-class baselines (they need scikit-learn)")
    p.add_argument("--inference-sparsity", type=float, nargs="*", default=[0.02, 0.05],
                   help="after training, also evaluate sparse inference with the output set to these "
                        "sparsities (model.set_sparsity, tables kept: the knob)")
    p.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    return p.parse_args(argv)


def _head(data, n, batch_size, shuffle, seed):
    """A data set of the first ``n`` samples of ``data``."""
    part = data.batch(np.arange(n))
    x = part.inputs[0]
    return sb.data.SparseDataset(x.offsets, x.ids, x.vals, part.labels, data.dim,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed)


def load(feature_dim, batch_size, seed, train_rows=None, test_rows=None):
    feat = sb.data.HashedTextFeaturizer(dim=feature_dim, char_ngram=(3, 5), idf=True)
    train, vocab = sb.data.load_text_csv(os.path.join(DATA, "train.csv.gz"), "query", "label", feat,
                                         batch_size=batch_size, shuffle=True, seed=seed, fit_featurizer=True)
    test, _ = sb.data.load_text_csv(os.path.join(DATA, "test.csv.gz"), "query", "label", feat,
                                    label_vocab=vocab, batch_size=TEST_BATCH)
    if train_rows is not None and train_rows < train.n_samples:
        train = _head(train, train_rows, batch_size, True, seed)
    if test_rows is not None and test_rows < test.n_samples:
        test = _head(test, test_rows, TEST_BATCH, False, 0)
    return feat, train, test, vocab


def same_batches(data, seed):
    """A new data set over ``data``'s samples, shuffled by its own generator from ``seed``."""
    f = data.features
    return sb.data.SparseDataset(f.offsets, f.ids, f.vals, data.labels, data.dim,
                                 batch_size=data.batch_size, shuffle=True, seed=seed)


def build_sparsebolt(feature_dim, n_classes, args):
    inp = sb.Input(dim=feature_dim)
    hidden = sb.Embedding(dim=args.hidden, activation="linear", name="embedding")(inp)
    out = sb.FullyConnected(dim=n_classes, sparsity=args.sparsity, activation="softmax", name="output")(hidden)
    return sb.Model(inputs=inp, outputs=out, loss="categorical_cross_entropy", seed=args.seed)


def initial_weights(model):
    """Copies of sparsebolt's initial weights, taken before any training."""
    emb = next(layer for layer in model.layers if isinstance(layer, sb.Embedding))
    fc = next(layer for layer in model.layers if isinstance(layer, sb.FullyConnected))
    return {"E": emb.E.value.copy(), "Eb": emb.b.value.copy(), "W": fc.W.value.copy(), "Wb": fc.b.value.copy()}


# --- TF-IDF nearest-class baselines ---------------------------------------------------------

# (analyzer, n-gram range) of benchmarks/_baselines.nearest_class
TFIDF_BASELINES = {
    "tf-idf words 1-2, nearest class": ("word", (1, 2)),
    "tf-idf char_wb 3-5, nearest class": ("char_wb", (3, 5)),
}


def read_texts(train_rows=None, test_rows=None):
    """(train texts, train labels, test texts, test labels) as strings, from the same files."""
    tr_x, tr_y = sb.data.text.read_text_csv(os.path.join(DATA, "train.csv.gz"), "query", "label")
    te_x, te_y = sb.data.text.read_text_csv(os.path.join(DATA, "test.csv.gz"), "query", "label")
    return tr_x[:train_rows], tr_y[:train_rows], te_x[:test_rows], te_y[:test_rows]


def tfidf_nearest_class(texts, labels, test_texts, test_labels, analyzer, ngram_range):
    """``_baselines.nearest_class``'s metrics on the test queries, with the seconds to fit
    (vectorize the classes) and to rank the test queries."""
    start = time.perf_counter()
    classes, top, fit_seconds = nearest_class(texts, labels, test_texts, analyzer, ngram_range)
    eval_seconds = time.perf_counter() - start - fit_seconds
    p1, r5, r10 = topk_hits(classes, top, test_labels, ks=(1, 5, 10))
    return {"precision@1": p1, "recall@5": r5, "recall@10": r10,
            "fit_seconds": fit_seconds, "eval_seconds": eval_seconds}


# --- PyTorch --------------------------------------------------------------------------------

def torch_model(torch, weights, relu=False):
    """EmbeddingBag(sum, per-sample weights) + bias (+ ReLU with ``relu``) + Linear, holding
    copies of ``weights`` (``initial_weights``)."""
    nn = torch.nn

    class DenseNet(nn.Module):
        def __init__(self):
            super().__init__()
            n_features, hidden = weights["E"].shape
            self.emb = nn.EmbeddingBag(n_features, hidden, mode="sum")
            self.emb_bias = nn.Parameter(torch.zeros(hidden))
            self.out = nn.Linear(hidden, weights["W"].shape[0])
            with torch.no_grad():
                self.emb.weight.copy_(torch.from_numpy(weights["E"]))
                self.emb_bias.copy_(torch.from_numpy(weights["Eb"]))
                self.out.weight.copy_(torch.from_numpy(weights["W"]))
                self.out.bias.copy_(torch.from_numpy(weights["Wb"]))

        def forward(self, ids, offsets, vals):
            h = self.emb(ids, offsets, per_sample_weights=vals) + self.emb_bias
            return self.out(torch.relu(h) if relu else h)

    return DenseNet()


def torch_batch(torch, batch):
    """(ids, offsets, per-sample weights, labels) tensors of a sparsebolt Batch (one label a row)."""
    x = batch.inputs[0]
    ids = torch.from_numpy(x.ids.astype(np.int64))
    offsets = torch.from_numpy(x.offsets[:-1])
    vals = torch.from_numpy(x.vals)
    labels = torch.from_numpy(batch.labels.ids.astype(np.int64))
    return ids, offsets, vals, labels


def make_adam(torch, params, lr, variant):
    kwargs = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True},
              "for-loop": {"foreach": False}}[variant]
    return torch.optim.Adam(params, lr=lr, eps=1e-7, **kwargs)


def torch_step(torch, model, opt, batch):
    ids, offsets, vals, labels = torch_batch(torch, batch)
    loss = torch.nn.functional.cross_entropy(model(ids, offsets, vals), labels)
    opt.zero_grad(set_to_none=False)
    loss.backward()
    opt.step()
    return loss.item()


def pick_torch_variant(torch, weights, train, args):
    """Seconds per batch of each Adam implementation on the first batches (each from the
    initial weights); returns (fastest variant, {variant: seconds per batch})."""
    n = 3 + args.probe_batches
    batches = list(itertools.islice(iter(train), n))
    timings = {}
    for variant in [v.strip() for v in args.torch_variants.split(",") if v.strip()]:
        model = torch_model(torch, weights)
        try:
            opt = make_adam(torch, model.parameters(), args.lr, variant)
            for b in batches[:3]:
                torch_step(torch, model, opt, b)
        except (RuntimeError, TypeError, ValueError) as e:
            print(f"  torch Adam variant {variant!r} unavailable: {e}")
            continue
        start = time.perf_counter()
        for b in batches[3:]:
            torch_step(torch, model, opt, b)
        timings[variant] = (time.perf_counter() - start) / (n - 3)
        print(f"  torch Adam variant {variant:<8} {timings[variant] * 1000:8.1f} ms/batch")
        del model, opt
    best = min(timings, key=timings.get)
    return best, timings


def torch_evaluate(torch, model, test, k=10):
    """precision@1, recall@5, recall@10 of the dense model (single-label rows)."""
    hits1 = hits5 = hits10 = 0
    n = 0
    chunk = 512
    with torch.no_grad():
        for batch in test:
            ids, offsets, vals, labels = torch_batch(torch, batch)
            x = batch.inputs[0]
            for lo in range(0, batch.batch_size, chunk):
                hi = min(batch.batch_size, lo + chunk)
                a, b = int(x.offsets[lo]), int(x.offsets[hi])
                logits = model(ids[a:b], offsets[lo:hi] - a, vals[a:b])
                top = torch.topk(logits, k, dim=1).indices
                match = top == labels[lo:hi, None]
                hits1 += int(match[:, :1].sum())
                hits5 += int(match[:, :5].sum())
                hits10 += int(match[:, :10].sum())
                n += hi - lo
    return {"precision@1": hits1 / n, "recall@5": hits5 / n, "recall@10": hits10 / n}


def run_torch(torch, weights, train, test, args, variant):
    torch.manual_seed(args.seed)
    model = torch_model(torch, weights)
    opt = make_adam(torch, model.parameters(), args.lr, variant)
    epoch_seconds, epoch_loss = [], []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        total, count = 0.0, 0
        for batch in train:
            total += torch_step(torch, model, opt, batch)
            count += 1
        epoch_seconds.append(time.perf_counter() - start)
        epoch_loss.append(total / count)
        print(f"  torch epoch {epoch + 1}/{args.epochs}: {epoch_seconds[-1]:.1f} s, "
              f"{train.n_samples / epoch_seconds[-1]:.0f} samples/s, mean loss {epoch_loss[-1]:.4f}", flush=True)
    start = time.perf_counter()
    metrics = torch_evaluate(torch, model, test)
    eval_seconds = time.perf_counter() - start
    return {"train_seconds": sum(epoch_seconds), "epoch_seconds": epoch_seconds, "epoch_loss": epoch_loss,
            "eval_seconds": eval_seconds, **metrics}


# --- sparsebolt -----------------------------------------------------------------------------

def run_sparsebolt(model, train, test, args):
    epoch_seconds, epoch_loss = [], []
    for epoch in range(args.epochs):
        # one epoch a call; the model counts epochs, so augmentation starts in the second
        history = model.train(train, epochs=1, learning_rate=args.lr, verbose=False)
        epoch_seconds.append(history["seconds"][0])
        epoch_loss.append(history["loss"][0])
        print(f"  sparsebolt epoch {epoch + 1}/{args.epochs}: {epoch_seconds[-1]:.1f} s, "
              f"{train.n_samples / epoch_seconds[-1]:.0f} samples/s, mean loss {epoch_loss[-1]:.4f} "
              f"(sampled softmax)", flush=True)
    out = {"train_seconds": sum(epoch_seconds), "epoch_seconds": epoch_seconds, "epoch_loss": epoch_loss}
    for mode, sparse in (("dense", False), ("sparse", True)):
        start = time.perf_counter()
        res = model.evaluate(test, metrics=list(METRICS), sparse_inference=sparse)
        out[f"{mode}_inference"] = {**res, "eval_seconds": time.perf_counter() - start}
    out["knob"] = {}
    layer = model.output.layer
    for level in args.inference_sparsity:
        model.set_sparsity(layer, level, keep_tables=True)
        start = time.perf_counter()
        res = model.evaluate(test, metrics=list(METRICS), sparse_inference=True)
        out["knob"][str(level)] = {**res, "eval_seconds": time.perf_counter() - start}
    model.set_sparsity(layer, args.sparsity, keep_tables=True)
    return out


def main(argv=None):
    args = parse_args(argv)
    sb.set_num_threads(THREADS)
    torch = None
    if not args.skip_torch:
        import torch
        torch.set_num_threads(THREADS)

    start = time.perf_counter()
    feat, train, test, vocab = load(args.feature_dim, args.batch_size, args.seed, args.train_rows, args.test_rows)
    load_seconds = time.perf_counter() - start
    n_train = train.n_samples
    print(f"wordnet_search: {n_train:,} train / {test.n_samples:,} test queries, {len(vocab):,} classes, "
          f"{feat.dim:,} hashed features (loaded in {load_seconds:.1f} s)")
    print(f"config: epochs={args.epochs} hidden={args.hidden} sparsity={args.sparsity} lr={args.lr} "
          f"batch_size={args.batch_size} feature_dim={args.feature_dim} threads={THREADS} seed={args.seed}")

    model = build_sparsebolt(feat.dim, len(vocab), args)
    weights = initial_weights(model)
    print(model.summary())

    results = {"dataset": "wordnet_search", "n_train": n_train, "n_test": test.n_samples,
               "n_classes": len(vocab), "config": {k: v for k, v in vars(args).items() if k != "json"},
               "threads": THREADS, "python": platform.python_version(), "sparsebolt": sb.__version__}

    print("\n[sparsebolt] training")
    sbr = run_sparsebolt(model, train, test, args)
    sbr["samples_per_second"] = args.epochs * n_train / sbr["train_seconds"]
    results["sparsebolt"] = sbr
    del model

    if not args.skip_baselines:
        print("\n[tf-idf] nearest-class baselines")
        texts = read_texts(args.train_rows, args.test_rows)
        results["baselines"] = {}
        for name, (analyzer, ngram_range) in TFIDF_BASELINES.items():
            res = tfidf_nearest_class(*texts, analyzer, ngram_range)
            results["baselines"][name] = res
            print(f"  {name}: P@1 {res['precision@1']:.4f}, R@10 {res['recall@10']:.4f} "
                  f"(fit {res['fit_seconds']:.1f} s, evaluation {res['eval_seconds']:.1f} s)", flush=True)

    if torch is not None:
        results["torch_version"] = torch.__version__
        print("\n[pytorch] timing Adam implementations on the first batches")
        variant, timings = pick_torch_variant(torch, weights, same_batches(train, args.seed + 1), args)
        print(f"  using Adam variant {variant!r} (fastest)")
        print("[pytorch] training")
        # a fresh, identically seeded data set: the same batches in the same order as sparsebolt's
        tr = run_torch(torch, weights, same_batches(train, args.seed), test, args, variant)
        tr["samples_per_second"] = args.epochs * n_train / tr["train_seconds"]
        tr["adam_variant"] = variant
        tr["adam_variant_ms_per_batch"] = {k: v * 1000 for k, v in timings.items()}
        results["torch"] = tr

    report(results, args)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"\nresults written to {args.json}")
    return results


def report(results, args):
    sbr, tr = results["sparsebolt"], results.get("torch")
    print("\n" + "=" * 78)
    print(f"wordnet_search: {results['n_classes']:,} classes, {results['n_train']:,} train rows, "
          f"{results['n_test']:,} test rows; {args.epochs} epochs, batch {args.batch_size}, {THREADS} threads")
    print("=" * 78)
    head = f"{'model':<34} {'P@1':>7} {'R@5':>7} {'R@10':>7} {'train s':>9} {'samples/s':>10}"
    print(head)
    print("-" * len(head))
    rows = [("sparsebolt, dense inference", sbr["dense_inference"], sbr),
            ("sparsebolt, sparse inference", sbr["sparse_inference"], sbr)]
    rows += [(f"  sparse inference at {level}", res, sbr) for level, res in sbr.get("knob", {}).items()]
    if tr is not None:
        rows.append((f"pytorch dense (Adam {tr['adam_variant']})", tr, tr))
    for name, m, t in rows:
        print(f"{name:<34} {m['precision@1']:7.4f} {m['recall@5']:7.4f} {m['recall@10']:7.4f} "
              f"{t['train_seconds']:9.1f} {t['samples_per_second']:10.0f}")
    for name, m in results.get("baselines", {}).items():
        print(f"{name:<34} {m['precision@1']:7.4f} {m['recall@5']:7.4f} {m['recall@10']:7.4f} "
              f"{m['fit_seconds']:9.1f} {'(fit)':>10}")
    print("-" * len(head))
    ev = f"evaluation seconds: sparsebolt dense {sbr['dense_inference']['eval_seconds']:.1f}, " \
         f"sparse {sbr['sparse_inference']['eval_seconds']:.1f}"
    if tr is not None:
        ev += f", pytorch {tr['eval_seconds']:.1f}"
        speedup = sbr["samples_per_second"] / tr["samples_per_second"]
        results["speedup"] = speedup
        print(f"training speed ratio sparsebolt / pytorch: {speedup:.2f}x "
              f"({sbr['train_seconds']:.1f} s vs {tr['train_seconds']:.1f} s)")
        print("pytorch Adam ms/batch probed: " + ", ".join(
            f"{k} {v:.1f}" for k, v in tr["adam_variant_ms_per_batch"].items()) + f" -> using {tr['adam_variant']}")
    print(ev)


if __name__ == "__main__":
    main()
