"""Extreme classification demo: map a search query to one of 117,659 WordNet synsets.

Hashes each query's words, word bigrams and character 3- to 5-grams (with word boundaries)
into 2^18 features weighted by inverse document frequency, trains a linear embedding of
them followed by a 117,659-way softmax output layer that is trained sparsely (each sample
computes 0.5% of the output neurons, chosen by LSH; batches of 2,048; 6 epochs, Adam's rate
decayed from 5e-3 to a tenth), then reports
precision@1 and recall@5/@10 on the held-out test queries with dense inference and with
sparse inference. For sparse inference the output layer's hash tables are rebuilt from the
trained weights with 4 times as many tables of one more hash each, each training label is
pinned into every bucket of its query that misses it, and each query computes 0.3% of the
outputs. The two TF-IDF nearest-class baselines' numbers are
printed beside them (measured by benchmarks/wordnet_search.py). On 2 idle cores of an AMD
EPYC with AVX-512 (396d680): 173 s of training, 224 s in all, where the demo as it stood when
issue 12 was filed trained in 205 s, 238 s in all (README, "make demo").

    .venv/bin/python examples/wordnet_search.py [--epochs 6] [--threads 2]

The data (datasets/wordnet_search/, WordNet 3.0 licence) ship with the repository.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "datasets", "wordnet_search")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402

METRICS = ["precision@1", "recall@5", "recall@10"]
EXAMPLES = ["domestic dog", "a large body of salt water", "automobile", "to run fast", "sadness",
            "a tool for cutting wood"]
# P@1, R@5, R@10 of benchmarks/_baselines.nearest_class on the same split (a class = its
# training queries joined into one TF-IDF document; benchmarks/wordnet_search.py runs them)
BASELINES = {"TF-IDF words 1-2, nearest class": (0.1744, 0.3242, 0.3739),
             "TF-IDF char_wb 3-5, nearest class": (0.1936, 0.3983, 0.4803)}


def synset_names(path):
    """label -> (its shortest training query, one of its lemmas; its first, its definition)."""
    texts, labels = sb.data.text.read_text_csv(path, "query", "label")
    names = {}
    for text, label in zip(texts, labels):
        if label not in names:
            names[label] = (text, text)
        elif len(text) < len(names[label][0]):
            names[label] = (text, names[label][1])
    return names


def shown(name, width=44):
    lemma, definition = name
    if len(definition) > width:
        definition = definition[:width - 3].rstrip() + "..."
    return f"'{lemma}' ({definition})"


def parse_args():
    p = argparse.ArgumentParser(description="WordNet search extreme classification demo")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--sparsity", type=float, default=0.005, help="output layer sparsity in training")
    p.add_argument("--lr", type=float, default=5e-3, help="Adam's rate at the start, decayed (cosine) to a tenth")
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--inference-tables", type=int, default=4,
                   help="hash tables for sparse inference, as a multiple of those training used")
    p.add_argument("--inference-sparsity", type=float, default=0.003)
    p.add_argument("--threads", type=int, default=None, help="kernel threads (default: all cores)")
    return p.parse_args()


def main():
    args = parse_args()
    t0 = time.perf_counter()
    if args.threads:
        sb.set_num_threads(args.threads)
    print(f"sparsebolt {sb.__version__} on {sb.get_num_threads()} threads")

    start = time.perf_counter()
    # character n-grams match a held-out synonym to its synset's definition and other
    # lemmas through shared word parts; IDF makes rare words and n-grams count most; balanced,
    # the words weigh as much as their dozen n-grams (else 'sadness' read as 'madness')
    feat = sb.data.HashedTextFeaturizer(dim=1 << 18, char_ngram=(3, 5), idf=True, balance=True)
    train, vocab = sb.data.load_text_csv(os.path.join(DATA, "train.csv.gz"), "query", "label", feat,
                                         batch_size=args.batch_size, shuffle=True, seed=0,
                                         fit_featurizer=True)
    test, _ = sb.data.load_text_csv(os.path.join(DATA, "test.csv.gz"), "query", "label", feat,
                                    label_vocab=vocab, batch_size=2048)
    print(f"loaded {train.n_samples:,} training and {test.n_samples:,} test queries over "
          f"{len(vocab):,} synsets in {time.perf_counter() - start:.1f} s")

    inp = sb.Input(dim=feat.dim)
    # linear: the embedding of a query is then the sum of its features' embeddings, as
    # in a TF-IDF model; a ReLU here measured 2-5 points lower on held-out synonyms
    hidden = sb.Embedding(dim=args.hidden, activation="linear")(inp)
    out = sb.FullyConnected(dim=len(vocab), sparsity=args.sparsity, activation="softmax")(hidden)
    model = sb.Model(inputs=inp, outputs=out, loss="categorical_cross_entropy", seed=0)
    print(model.summary())

    # large batches: a batch's active sets touch most output rows either way, so Adam's
    # pass over them costs about the same for 256 samples as for 2048
    # the rate decayed to a tenth over the run: the last epochs settle the rows of rare
    # synsets that a constant rate keeps moving (6 epochs: P@1 0.2271 -> 0.2388)
    steps = args.epochs * -(-train.n_samples // args.batch_size)
    print(f"\ntraining {args.epochs} epochs (batch {args.batch_size}, Adam lr {args.lr} decayed to a tenth)")
    history = model.train(train, epochs=args.epochs, learning_rate=sb.train.WarmupDecay(args.lr, 0, steps))
    train_seconds = sum(history["seconds"])
    samples_per_second = args.epochs * train.n_samples / train_seconds

    results = {}
    start = time.perf_counter()
    results["dense"] = model.evaluate(test, metrics=METRICS)
    results["dense"]["seconds"] = time.perf_counter() - start

    # sparse inference keeps the neurons found in the most of a query's buckets; with
    # training's tables most are found in one. Rebuilt with more tables, each training
    # label pinned into every bucket of its query that misses it, a test query finds the
    # synsets of the training queries it shares the most buckets with; one more hash a
    # table makes the buckets 8 times smaller, so there are fewer ids to rank
    start = time.perf_counter()
    layer = out.layer
    n_tables = args.inference_tables * layer.index.config.n_tables
    k = layer.index.config.k + 1
    model.pin_labels(train, n_tables=n_tables, k=k, every_bucket=True, verbose=False)
    model.set_sparsity(layer, args.inference_sparsity, keep_tables=True)
    prepare_seconds = time.perf_counter() - start
    start = time.perf_counter()
    results["sparse"] = model.evaluate(test, metrics=METRICS, sparse_inference=True)
    results["sparse"]["seconds"] = time.perf_counter() - start

    print("\n" + "=" * 72)
    print(f"WordNet search: {len(vocab):,} classes, {test.n_samples:,} test queries")
    print("=" * 72)
    print(f"{'':<36} {'P@1':>7} {'R@5':>7} {'R@10':>7} {'eval s':>8}")
    for mode, label in (("dense", "sparsebolt, dense inference"),
                        ("sparse", f"sparsebolt, sparse inference {args.inference_sparsity:g}")):
        r = results[mode]
        print(f"{label:<36} {r['precision@1']:7.4f} {r['recall@5']:7.4f} {r['recall@10']:7.4f} {r['seconds']:8.1f}")
    for label, (p1, r5, r10) in BASELINES.items():
        print(f"{label:<36} {p1:7.4f} {r5:7.4f} {r10:7.4f}")
    print("-" * 72)
    print(f"training: {train_seconds:.1f} s for {args.epochs} epochs, {samples_per_second:,.0f} samples/s")
    print(f"sparse inference: {n_tables} tables of {k} hashes rebuilt and training labels pinned in "
          f"{prepare_seconds:.1f} s; "
          f"{results['sparse']['seconds'] / results['dense']['seconds']:.2f} of dense inference time")

    # a few queries of our own; a synset is shown by its shortest training query (one of
    # its lemmas) and its definition
    names = synset_names(os.path.join(DATA, "train.csv.gz"))
    inv = {i: label for label, i in vocab.items()}
    offsets, ids, vals = feat.transform(EXAMPLES)
    queries = sb.data.csr_value(feat.dim, offsets, ids, vals)
    for mode, sparse in (("dense", False), ("sparse", True)):
        ids_top, scores = model.predict(queries, top_k=2, sparse_inference=sparse)
        print(f"\nsample queries, {mode} inference (top 2 synsets):")
        for text, row, sc in zip(EXAMPLES, ids_top, scores):
            best = "; ".join(f"{shown(names[inv[int(i)]])} {s:.2f}" for i, s in zip(row, sc) if i >= 0)
            print(f"  {text!r:<30} -> {best}")
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
