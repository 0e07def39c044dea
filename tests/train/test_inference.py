"""Prediction paths agree: blocked top-k over a wide output, the full output, one sample."""
import numpy as np
import pytest
import scipy.sparse as sp

import sparsebolt as sb
from sparsebolt.nn.layers import fully_connected
from sparsebolt.train import inference

from ..synthetic import clustered, small_model


def test_blocked_top_k_equals_the_materialised_output(monkeypatch):
    data = clustered(n=600, n_classes=3000, batch_size=200)
    model = small_model(n_classes=3000, sparsity=0.05)
    model.train(data, epochs=2, learning_rate=1e-2, verbose=False)
    monkeypatch.setattr(inference, "WIDE_OUTPUT", 10**9)
    full_ids, full_scores = model.predict(data, top_k=7)
    monkeypatch.setattr(inference, "WIDE_OUTPUT", 100)
    monkeypatch.setattr(fully_connected, "TOP_K_BLOCK", 512)
    ids, scores = model.predict(data, top_k=7)
    np.testing.assert_allclose(scores, full_scores, rtol=1e-5, atol=1e-7)
    # BLAS sums a block in another order than the whole matrix: near-ties may swap, nothing else
    r, j = np.nonzero(ids != full_ids)
    assert r.size <= 4
    for row, col in zip(r, j):
        assert np.isclose(scores[row, col], full_scores[row, col], rtol=1e-5)
        assert ids[row, col] in full_ids[row] or col == 6
    assert np.all(np.diff(scores, axis=1) <= 0)
    one_ids, one_scores = model.predict(data.batch([5]), top_k=7)
    np.testing.assert_array_equal(one_ids[0], full_ids[5])


def test_top_k_beyond_the_output_width_is_padded(monkeypatch):
    data = clustered(n=50, n_classes=4, batch_size=50)
    model = small_model(n_classes=4, sparsity=1.0)
    ids, scores = model.predict(data, top_k=6)
    assert (ids[:, 4:] == -1).all() and np.isneginf(scores[:, 4:]).all()
    assert np.allclose(scores[:, :4].sum(axis=1), 1.0, atol=1e-5)
    monkeypatch.setattr(inference, "WIDE_OUTPUT", 2)
    wide_ids, wide_scores = model.predict(data, top_k=6)
    np.testing.assert_array_equal(wide_ids, ids)
    np.testing.assert_allclose(wide_scores[:, :4], scores[:, :4], rtol=1e-5)


def test_a_slow_thread_pool_predicts_with_the_serial_kernels_the_same(monkeypatch):
    data = clustered(n=300, n_classes=600, batch_size=100)
    model = small_model(n_classes=600, sparsity=0.1)
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    seen = []
    output_values = model.output_values
    monkeypatch.setattr(model, "output_values", lambda *a, **kw: seen.append(kw["serial"]) or output_values(*a, **kw))
    monkeypatch.setattr(inference, "pool_slow", lambda: False)
    for sparse in (False, True):
        ids, scores = model.predict(data, top_k=5, sparse_inference=sparse)
        # another process holding a core: every batch on the serial kernels, with the same answers
        monkeypatch.setattr(inference, "pool_slow", lambda: True)
        serial_ids, serial_scores = model.predict(data, top_k=5, sparse_inference=sparse)
        monkeypatch.setattr(inference, "pool_slow", lambda: False)
        np.testing.assert_array_equal(serial_ids, ids)
        np.testing.assert_array_equal(serial_scores, scores)
    assert seen == [False] * 3 + [True] * 3 + [False] * 3 + [True] * 3


# rightly: DWTA reads 80 of the 200 inputs, which a fifth of these rows miss
@pytest.mark.filterwarnings("ignore:Sparse inference of FullyConnected")
def test_sparse_inference_reads_stored_zeros_as_absent():
    # a sparse layer on the input hashes the CSR rows themselves; the same matrix with zeros
    # stored must retrieve (and so predict) the same
    rng = np.random.default_rng(5)
    X = sp.random(100, 200, density=0.02, format="csr", random_state=1, dtype=np.float32)
    X.data[:] = 1
    rows, cols = np.repeat(np.arange(100), 3), rng.integers(0, 200, 300)
    coo = X.tocoo()
    Xz = sp.csr_matrix((np.r_[coo.data, np.zeros(300, np.float32)], (np.r_[coo.row, rows], np.r_[coo.col, cols])),
                       shape=X.shape)
    assert Xz.nnz > X.nnz and (Xz != X).nnz == 0
    inp = sb.Input(dim=200)
    model = sb.Model(inp, sb.FullyConnected(dim=300, sparsity=0.05, activation="softmax")(inp), seed=3)
    model.train(X, y=rng.integers(0, 300, 100), batch_size=50, epochs=1, verbose=False)
    ids, scores = model.predict(X, top_k=3, sparse_inference=True)
    z_ids, z_scores = model.predict(Xz, top_k=3, sparse_inference=True)
    np.testing.assert_array_equal(z_ids, ids)
    # the rows' entries come in another order: rounding
    np.testing.assert_allclose(z_scores, scores, rtol=1e-6)


def test_sparse_inference_of_a_row_does_not_depend_on_its_batch():
    # sets wider than what the buckets hold are padded with random neurons, which softmax
    # normalises over: the padding must follow the row, not its place in the batch
    rng = np.random.default_rng(0)
    X = sp.random(300, 400, density=0.02, format="csr", random_state=2, dtype=np.float32)
    inp = sb.Input(dim=400)
    hidden = sb.Embedding(dim=16, activation="relu")(inp)
    out = sb.FullyConnected(dim=200, sparsity=0.05, activation="softmax")(hidden)
    model = sb.Model(inp, out, seed=1)
    model.train(X, y=rng.integers(0, 200, 300), epochs=1, batch_size=100, verbose=False)
    model.set_sparsity(out.layer, 0.5)
    ids, scores = model.predict(X, top_k=5, sparse_inference=True, batch_size=256)
    for batch_size, order in ((1, slice(None)), (256, slice(None, None, -1))):
        other_ids, other_scores = model.predict(X[order], top_k=5, sparse_inference=True, batch_size=batch_size)
        np.testing.assert_array_equal(other_ids[order], ids)
        np.testing.assert_array_equal(other_scores[order], scores)


def test_random_sampling_pads_each_row_with_its_own_set():
    # without tables a row has no buckets to seed its padding: seeded by the salt alone,
    # every row had taken the same set (1 distinct set of 200, its top-1 always among them)
    rng = np.random.default_rng(0)
    X = rng.random((200, 30), dtype=np.float32)
    inp = sb.Input(dim=30)
    out = sb.FullyConnected(dim=100, sparsity=0.1, sampling="random", activation="softmax")(sb.Embedding(dim=8)(inp))
    model = sb.Model(inp, out, seed=0)
    model.train(X, y=rng.integers(0, 100, 200), epochs=1, batch_size=50, verbose=False)
    ids, _ = model.predict(X, top_k=10, sparse_inference=True)
    assert len({tuple(sorted(r)) for r in ids.tolist()}) > 50


def test_evaluate_needs_a_metric():
    model, data = small_model(), clustered(n=50)
    with pytest.raises(ValueError) as err:
        model.evaluate(data, metrics=[])
    assert str(err.value) == "The 'metrics' parameter of evaluate must be at least one metric. Got [] instead."



def test_evaluate_and_train_refuse_data_without_labels_or_samples_in_the_parameter_template():
    model, data = small_model(), clustered(n=50)
    unlabeled = sb.data.Batch(data.batch(np.arange(10)).inputs)
    with pytest.raises(ValueError, match=r"^The 'data' parameter of evaluate must give batches with labels\. Got a batch "
                                         r"without labels instead\.$"):
        model.evaluate([unlabeled])
    with pytest.raises(ValueError, match=r"^The 'data' parameter of evaluate must hold at least one sample\. Got none "
                                         r"instead\.$"):
        model.evaluate([])
    with pytest.raises(ValueError, match=r"^The 'data' parameter of train must give at least one batch\. Got none "
                                         r"instead\.$"):
        model.train([], verbose=False)
