"""The loss kernels against NumPy: the mean loss and dL/dz = (p - y) / B over dense rows and
over rows of active neurons, with label values, label smoothing, and labels a row did not
compute left out."""
import numpy as np
import pytest

from sparsebolt.kernels.losses import sigmoid_binary_cross_entropy, softmax_cross_entropy

# per sample {label: value}: weighted labels, a label absent from the sparse rows (4), none
LABELS = [{2: 1.0, 4: 1.0}, {0: 3.0, 5: 1.0}, {8: 0.7}, {}]
DENSE_ROWS = [list(range(10))] * 4
SPARSE_ROWS = [[7, 2, 9], [0, 4, 5], [3, 8, 1], [6, 2, 0]]


def _csr(rows, values=None):
    offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    ids = np.array([i for r in rows for i in r], dtype=np.int32)
    vals = None if values is None else np.array([v for r in values for v in r], dtype=np.float32)
    return offsets, ids, vals


def _outputs(rows, activation, seed=0):
    """Each row's activations (softmax over the row, or sigmoid) and the kernel's arguments."""
    rng = np.random.default_rng(seed)
    acts = []
    for r in rows:
        z = rng.normal(0, 2, len(r))
        a = np.exp(z - z.max()) / np.exp(z - z.max()).sum() if activation == "softmax" else 1 / (1 + np.exp(-z))
        acts.append(a.astype(np.float32))
    offsets, ids, _ = _csr(rows)
    return acts, np.concatenate(acts), offsets, ids


def _targets(rows, normalise, smoothing=0.0):
    """Each computed output's target: its label's value (over the sample's label total when
    ``normalise``), then ``smoothing`` spread evenly over the row; labels outside a row add
    nothing, and a sample without labels has no target, smoothed or not."""
    out = []
    for ids, labels in zip(rows, LABELS):
        y = np.array([labels.get(i, 0.0) for i in ids])
        total = sum(labels.values())
        if normalise and total > 0:
            y = (1 - smoothing) * y / total + smoothing / len(ids)
        out.append(y)
    return out


def _run(kernel, rows, flat, offsets, ids, *extra):
    dense = rows is DENSE_ROWS
    lab_offsets, lab_ids, lab_vals = _csr([list(d) for d in LABELS], [list(d.values()) for d in LABELS])
    dz = np.empty_like(flat)
    loss = kernel(flat, offsets, np.zeros(0, np.int32) if dense else ids, dense, lab_offsets, lab_ids, lab_vals, dz,
                  *extra)
    return loss, dz


@pytest.mark.parametrize("rows", [DENSE_ROWS, SPARSE_ROWS], ids=["dense", "sparse"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_cross_entropy_against_numpy(rows, smoothing):
    acts, flat, offsets, ids = _outputs(rows, "softmax")
    loss, dz = _run(softmax_cross_entropy, rows, flat, offsets, ids, np.float32(smoothing))
    ys = _targets(rows, normalise=True, smoothing=smoothing)
    expected = np.mean([-(y * np.log(p)).sum() for p, y in zip(acts, ys)])
    assert loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(dz, np.concatenate([(p - y) / 4 for p, y in zip(acts, ys)]), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("rows", [DENSE_ROWS, SPARSE_ROWS], ids=["dense", "sparse"])
def test_sigmoid_binary_cross_entropy_against_numpy(rows):
    acts, flat, offsets, ids = _outputs(rows, "sigmoid")
    loss, dz = _run(sigmoid_binary_cross_entropy, rows, flat, offsets, ids)
    ys = _targets(rows, normalise=False)
    expected = np.mean([-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() for p, y in zip(acts, ys)])
    assert loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(dz, np.concatenate([(p - y) / 4 for p, y in zip(acts, ys)]), rtol=1e-5, atol=1e-7)
