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


def planted(n_train=20000, n_test=2000, n_features=20000, n_classes=2000, owned=12, keep=0.6, noise=4,
            seed=0, batch_size=128):
    """Planted classes with unseen test inputs: (train, test) SparseDatasets.

    Each class owns ``owned`` features; a sample of a class shows each of them with
    probability ``keep`` (at least one) plus ``noise`` uniform noise features, all of value
    1. Test samples are fresh draws from the class (never a copy of a training row), so
    they probe what a model learned about the class, not which rows it saw.
    """
    rng = np.random.default_rng(seed)
    own = np.stack([rng.choice(n_features, owned, replace=False) for _ in range(n_classes)])

    def row(c, rng):
        mask = rng.random(owned) < keep
        mask[rng.integers(owned)] = True
        return np.unique(np.concatenate([own[c][mask], rng.integers(0, n_features, noise)]))

    train_rng, test_rng = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    train_label = train_rng.integers(0, n_classes, n_train)
    train_rows = [row(c, train_rng) for c in train_label]
    seen = {(int(c), r.tobytes()) for c, r in zip(train_label, train_rows)}
    test_label = test_rng.integers(0, n_classes, n_test)
    test_rows = []
    for c in test_label:
        r = row(c, test_rng)
        while (int(c), r.tobytes()) in seen:
            r = row(c, test_rng)
        test_rows.append(r)
    return (_dataset(train_rows, train_label, n_features, batch_size, True, seed),
            _dataset(test_rows, test_label, n_features, batch_size, False, seed))


def _dataset(rows, label, n_features, batch_size, shuffle, seed):
    n = len(rows)
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    labels = sb.data.Labels(np.arange(n + 1), np.asarray(label))
    return sb.data.SparseDataset(offsets, np.concatenate(rows).astype(np.int32), None, labels, n_features,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed)


def planted_rows(rng, n, n_classes=1000, owned=8, keep=0.6, noise=3, vocab=20000):
    """Rows {'text', 'label'} for the UniversalDeepTransformer: a row of class c shows each of
    its ``owned`` words with probability ``keep`` and ``noise`` words drawn from everything,
    so test rows are fresh draws, never training rows."""
    rows = []
    for c in rng.integers(0, n_classes, n):
        words = [f"c{c}w{k}" for k in range(owned) if rng.random() < keep] or [f"c{c}w0"]
        words += [f"n{j}" for j in rng.integers(0, vocab, noise)]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": f"c{c}"})
    return rows


class FlatMetric:
    """A validation metric that never changes: a schedule following 'val_flat' meets a
    plateau at every epoch after the first."""

    name, k = "flat", 1

    def fresh(self):
        return FlatMetric()

    def update(self, top_ids, hits, labels, output):
        pass

    def result(self):
        return 0.0


def flat_validation():
    """``train``'s keywords that log 'val_flat' each epoch (``FlatMetric``)."""
    return {"validation": clustered(n=64), "metrics": [FlatMetric()]}
