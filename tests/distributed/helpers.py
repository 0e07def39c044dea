"""The synthetic data set, weights compared bit for bit, and skewed SVM files shared by the
distributed tests."""
import numpy as np

from ..synthetic import clustered

N_SAMPLES, BATCH = 2048, 64


def _data(batch_size=BATCH, shuffle=False):
    return clustered(n=N_SAMPLES, batch_size=batch_size, shuffle=shuffle)


def _weights(model):
    return [p.value.copy() for p in model.parameters()]


def _assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _row_numbered(tmp_path, n=301, n_files=2):
    """SVM files whose row i has label i, the longest rows first (as in WordNet search's
    synsets), with an empty line and a header in the first file: [paths], n_features."""
    rng = np.random.default_rng(3)
    lines = []
    for i in range(n):
        width = 400 if i < n // 10 else 2
        feats = " ".join(f"{j}:1" for j in sorted(rng.choice(1000, width, replace=False)))
        lines.append(f"{i} {feats}")
    cut = n // 3
    paths = [tmp_path / "a.svm", tmp_path / "b.svm"][:n_files]
    paths[0].write_text(f"{cut} 1000 {n}\n" + "\n".join(lines[:cut]) + "\n\n")
    paths[1].write_text("\n".join(lines[cut:]))  # no newline at the end
    return paths, 1000
