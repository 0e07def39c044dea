"""Write a small synthetic extreme-classification data set as multi-label SVM files, for
trying the command line (README: "From the shell").

    python examples/make_svm.py OUT_DIR [--classes 2000] [--features 20000] [--train 20000] [--test 2000]

Each class owns 10 features; a sample shows about 7 of its class's features and 3 random
ones. Writes OUT_DIR/train.svm and OUT_DIR/test.svm (with ``n_rows n_features n_labels``
headers).
"""
import argparse
import os

import numpy as np

import sparsebolt as sb


def clustered(n, owned, n_features, rng, batch_size=256):
    n_classes = owned.shape[0]
    label = rng.integers(0, n_classes, n)
    rows = [np.unique(np.concatenate([owned[c][rng.random(owned.shape[1]) < 0.7], rng.integers(0, n_features, 3)]))
            for c in label]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    labels = sb.data.Labels(np.arange(n + 1), label)
    return sb.data.SparseDataset(offsets, np.concatenate(rows), None, labels, n_features, batch_size=batch_size)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--classes", type=int, default=2000)
    p.add_argument("--features", type=int, default=20000)
    p.add_argument("--train", type=int, default=20000)
    p.add_argument("--test", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    owned = rng.integers(0, args.features, (args.classes, 10))
    os.makedirs(args.out_dir, exist_ok=True)
    for name, n in (("train", args.train), ("test", args.test)):
        path = os.path.join(args.out_dir, f"{name}.svm")
        sb.data.write_svm(path, clustered(n, owned, args.features, rng), n_labels=args.classes)
        print(f"wrote {path}: {n} samples, {args.features} features, {args.classes} classes")


if __name__ == "__main__":
    main()
