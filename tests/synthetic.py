"""A small learnable extreme-classification problem for tests."""
import numpy as np

import sparsebolt as sb


def clustered(n=3000, n_features=2000, n_classes=500, seed=0, batch_size=128, shuffle=True):
    """Each class owns 10 features; a sample shows ~7 of its class's features plus 3 noise ids."""
    rng = np.random.default_rng(seed)
    owned = rng.integers(0, n_features, (n_classes, 10))
    label = rng.integers(0, n_classes, n)
    rows = [np.unique(np.concatenate([owned[c][rng.random(10) < 0.7], rng.integers(0, n_features, 3)]))
            for c in label]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    ids = np.concatenate(rows).astype(np.int32)
    labels = sb.data.Labels(np.arange(n + 1), label)
    return sb.data.SparseDataset(offsets, ids, None, labels, n_features, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed)


def small_model(n_features=2000, n_classes=500, sparsity=0.1, hidden=32, seed=0, **fc):
    inp = sb.Input(dim=n_features)
    h = sb.Embedding(dim=hidden, activation="relu")(inp)
    out = sb.FullyConnected(dim=n_classes, sparsity=sparsity, activation="softmax", **fc)(h)
    return sb.Model(inputs=inp, outputs=out, seed=seed)
