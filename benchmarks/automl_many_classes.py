"""The UniversalDeepTransformer on generated text with many classes and few rows each (a
stand-in for the issue's unseen text -> label check of about 1,700 classes), with its
defaults (``train(data)`` and nothing else) against TF-IDF word 1-2-grams + LinearSVC:
test accuracy and fit seconds, in one process.

Each class owns 30 words of a 20,000-word pool; a row draws 3-7 of its class's words and
8-19 words of a 5,000-word background shared by all classes (Zipf-distributed, as common
words are), in random order. Test rows are new draws, not copies of training rows. The
data are made from ``--seed``; nothing is read or written. Run from the repository root,
under the shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_many_classes.py [--classes 1700]
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
from benchmarks._baselines import tfidf_linear  # noqa: E402
from benchmarks._common import format_table, timed_fit  # noqa: E402

POOL_WORDS, OWN_WORDS, BACKGROUND_WORDS = 20_000, 30, 5_000
OWN_PER_ROW, BACKGROUND_PER_ROW = (3, 7), (8, 19)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--classes", type=int, default=1700)
    p.add_argument("--train-rows", type=int, default=20, help="training rows a class")
    p.add_argument("--test-rows", type=int, default=5, help="test rows a class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def generate(n_classes, train_rows, test_rows, seed):
    """(train, test): lists of {'text', 'label'} rows, the training rows shuffled."""
    rng = np.random.default_rng(seed)
    own = np.stack([rng.choice(POOL_WORDS, OWN_WORDS, replace=False) for _ in range(n_classes)])
    zipf = 1.0 / np.arange(1, BACKGROUND_WORDS + 1)
    zipf /= zipf.sum()

    def rows(per_class):
        out = []
        for c in range(n_classes):
            for _ in range(per_class):
                words = [f"w{w}" for w in own[c, rng.choice(OWN_WORDS, rng.integers(*OWN_PER_ROW, endpoint=True),
                                                             replace=False)]]
                words += [f"b{w}" for w in rng.choice(BACKGROUND_WORDS, rng.integers(*BACKGROUND_PER_ROW,
                                                                                      endpoint=True), p=zipf)]
                rng.shuffle(words)
                out.append({"text": " ".join(words), "label": f"c{c}"})
        return out

    train = rows(train_rows)
    return [train[i] for i in rng.permutation(len(train))], rows(test_rows)


def linear_svc(train, test):
    """(accuracy, fit seconds) of ``benchmarks._baselines.tfidf_linear``'s LinearSVC."""
    texts, labels = [r["text"] for r in train], [r["label"] for r in train]
    pipe, seconds = tfidf_linear(texts, labels, None, logistic=False)["TF-IDF 1-2-grams + LinearSVC"]
    accuracy = float(np.mean(pipe.predict([r["text"] for r in test]) == np.array([r["label"] for r in test])))
    return accuracy, seconds


def udt(train, test, seed):
    """(accuracy, fit seconds, epochs) of the UDT with its defaults."""
    types = {"text": sb.types.text(), "label": sb.types.categorical()}
    sb.UniversalDeepTransformer(types, target="label", seed=seed).train(train[:300], epochs=1, verbose=False)
    model = sb.UniversalDeepTransformer(types, target="label", seed=seed)
    seconds, history = timed_fit(model, lambda m: m.train(train, verbose=False))
    return model.evaluate(test)["categorical_accuracy"], seconds, len(history.epochs)


def main(argv=None):
    args = parse_args(argv)
    sb.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    train, test = generate(args.classes, args.train_rows, args.test_rows, args.seed)
    print(f"{args.classes:,} classes: {len(train):,} training and {len(test):,} test rows", flush=True)
    ours = udt(train, test, args.seed)
    print(f"  sparsebolt UDT (defaults)  accuracy={ours[0]:.4f}  train {ours[1]:.1f} s, {ours[2]} epochs", flush=True)
    base = linear_svc(train, test)
    print(f"  TF-IDF 1-2-grams + LinearSVC  accuracy={base[0]:.4f}  train {base[1]:.1f} s", flush=True)
    print()
    print(format_table(["method", "accuracy", "train s", "UDT / this"],
                       [["sparsebolt UDT (defaults)", f"{ours[0]:.4f}", f"{ours[1]:.1f}", ""],
                        ["TF-IDF 1-2-grams + LinearSVC", f"{base[0]:.4f}", f"{base[1]:.1f}",
                         f"{ours[1] / base[1]:.2f}x"]]))


if __name__ == "__main__":
    main()
