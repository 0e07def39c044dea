"""Extreme classification demo: map a search query to one of 117,659 WordNet synsets.

Hashes each query's words, word bigrams and character 3- to 5-grams (with word boundaries)
into 2^18 features weighted by inverse document frequency, trains a linear embedding of
them followed by a 117,659-way softmax output layer that is trained sparsely (each sample
computes about 0.5% of the output neurons, chosen by LSH), then reports precision@1 and
recall@5/@10 on the held-out test queries with dense and with sparse (LSH) inference.
Takes about 4-5 minutes on 2 idle cores (3.5 of them training; 261 s in all measured).

    .venv/bin/python examples/wordnet_search.py [--epochs 4] [--threads 2]

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
EXAMPLES = ["domestic dog", "a large body of salt water", "automobile", "to run fast",
            "happy", "quickly"]


def synset_names(path):
    """label -> its shortest training query."""
    texts, labels = sb.data.text.read_text_csv(path, "query", "label")
    names = {}
    for text, label in zip(texts, labels):
        if label not in names or len(text) < len(names[label]):
            names[label] = text
    return names


def parse_args():
    p = argparse.ArgumentParser(description="WordNet search extreme classification demo")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--sparsity", type=float, default=0.005)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--batch-size", type=int, default=256)
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
    # lemmas through shared word parts; IDF makes rare words and n-grams count most
    feat = sb.data.HashedTextFeaturizer(dim=1 << 18, char_ngram=(3, 5), idf=True)
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

    print(f"\ntraining {args.epochs} epochs (batch {args.batch_size}, Adam lr {args.lr})")
    history = model.train(train, epochs=args.epochs, learning_rate=args.lr)
    train_seconds = sum(history["seconds"])
    samples_per_second = args.epochs * train.n_samples / train_seconds

    results = {}
    for mode, sparse in (("dense", False), ("sparse", True)):
        start = time.perf_counter()
        results[mode] = model.evaluate(test, metrics=METRICS, sparse_inference=sparse)
        results[mode]["seconds"] = time.perf_counter() - start

    print("\n" + "=" * 68)
    print(f"WordNet search: {len(vocab):,} classes, {test.n_samples:,} test queries")
    print("=" * 68)
    print(f"{'inference':<12} {'P@1':>8} {'recall@5':>9} {'recall@10':>10} {'eval s':>8}")
    for mode in ("dense", "sparse"):
        r = results[mode]
        print(f"{mode:<12} {r['precision@1']:8.4f} {r['recall@5']:9.4f} {r['recall@10']:10.4f} {r['seconds']:8.1f}")
    print("-" * 68)
    print(f"training: {train_seconds:.1f} s for {args.epochs} epochs, {samples_per_second:,.0f} samples/s")

    # a few queries of our own; a synset is shown by its shortest
    # training query (one of its lemmas)
    names = synset_names(os.path.join(DATA, "train.csv.gz"))
    inv = {i: label for label, i in vocab.items()}
    offsets, ids, vals = feat.transform(EXAMPLES)
    ids_top, scores = model.predict(sb.data.csr_value(feat.dim, offsets, ids, vals), top_k=3)
    print("\nsample queries (top 3 synsets, dense inference; a synset is named by its shortest training query):")
    for text, row, sc in zip(EXAMPLES, ids_top, scores):
        shown = "; ".join(f"{inv[int(i)]} '{names[inv[int(i)]]}' {s:.2f}" for i, s in zip(row, sc) if i >= 0)
        print(f"  {text!r:<30} -> {shown}")
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
