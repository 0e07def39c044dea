"""SciPy and NumPy in: X and y train, evaluate, predict and pin exactly as a SparseDataset does."""
import numpy as np
import pytest

import sparsebolt as sb

from ..synthetic import clustered, small_model

sparse = pytest.importorskip("scipy.sparse", reason="SciPy is in the [test] extra; X/y tests need it")


def _xy(data):
    """The clustered problem as a CSR matrix and int labels."""
    f = data.features
    x = sparse.csr_matrix((f.vals, f.ids, f.offsets), shape=(data.n_samples, data.dim))
    return x, data.labels.ids.copy()


def _weights(model):
    return [p.value.copy() for p in model.parameters()]


def test_seeded_training_on_x_and_y_gives_the_weights_of_the_same_sparse_dataset(one_thread):
    data = clustered(n=600, n_classes=100, shuffle=True, seed=1, batch_size=64)
    x, y = _xy(data)
    via_dataset = small_model(n_classes=100, seed=3)
    f = data.features
    same = sb.data.SparseDataset(f.offsets, f.ids, f.vals, data.labels, data.dim, batch_size=64, shuffle=True,
                                 seed=[3, 0])
    via_dataset.train(same, epochs=2, learning_rate=1e-2, verbose=False)
    via_arrays = small_model(n_classes=100, seed=3)
    via_arrays.train(x, y=y, epochs=2, learning_rate=1e-2, batch_size=64, verbose=False)
    for a, b in zip(_weights(via_dataset), _weights(via_arrays)):
        assert np.array_equal(a, b)
    assert via_arrays.evaluate(x, y=y, metrics=["precision@1", "recall@5"]) == \
        via_dataset.evaluate(same, metrics=["precision@1", "recall@5"])
    # the dataset's batches: float32 BLAS may round a row by the size of its batch (Haswell kernels)
    ids_a, scores_a = via_arrays.predict(x, top_k=3, batch_size=64)
    ids_d, scores_d = via_dataset.predict(same, top_k=3)
    assert isinstance(ids_a, np.ndarray) and ids_a.shape == (600, 3)
    assert np.array_equal(ids_a, ids_d) and np.array_equal(scores_a, scores_d)


def test_every_input_format_gives_the_same_predictions(one_thread):
    data = clustered(n=300, n_classes=50, seed=2)
    x, y = _xy(data)
    model = small_model(n_classes=50)
    model.train(x, y=y, epochs=2, learning_rate=1e-2, verbose=False)
    expected = model.predict(x, top_k=2)
    pd = pytest.importorskip("pandas")
    for other in (x.tocoo(), x.tocsc(), sparse.csr_array(x), x.astype(np.float64), x.toarray(),
                  pd.DataFrame(x.toarray())):
        ids, scores = model.predict(other, top_k=2, batch_size=7)
        assert np.array_equal(ids, expected[0])
        assert np.allclose(scores, expected[1], atol=1e-6)


def test_label_formats_agree_and_evaluate_gives_a_table_row(one_thread):
    pd = pytest.importorskip("pandas")
    data = clustered(n=300, n_classes=50, seed=2)
    x, y = _xy(data)
    model = small_model(n_classes=50)
    model.train(x, y=y, epochs=2, learning_rate=1e-2, verbose=False)
    metrics = ["precision@1", "recall@5", "categorical_accuracy"]
    expected = model.evaluate(x, y=y, metrics=metrics)
    indicator = sparse.csr_matrix((np.ones(300), y, np.arange(301)), shape=(300, 50))
    for labels in ([[int(i)] for i in y], indicator, indicator.toarray(), pd.Series(y)):
        assert model.evaluate(x, y=labels, metrics=metrics) == expected
    table = pd.DataFrame([expected, model.evaluate(x[:100], y=y[:100], metrics=metrics)])
    assert list(table.columns) == metrics and table.shape == (2, 3)
    assert all(isinstance(v, float) for v in expected.values())


def test_multi_label_lists_train_and_pin(one_thread):
    rng = np.random.default_rng(0)
    data = clustered(n=400, n_classes=500, seed=4)
    x, y = _xy(data)
    lists = [[int(c), int((c + 1) % 500)] if rng.random() < 0.5 else [int(c)] for c in y]
    model = small_model(sparsity=0.05)
    history = model.train(x, y=lists, epochs=1, learning_rate=1e-2, verbose=False,
                          validation=(x, lists), metrics=["recall@5"])
    assert len(history["val_recall@5"]) == 1
    assert model.pin_labels(x, y=lists, verbose=False) >= 0
    assert model.evaluate(x, y=lists, metrics=["recall@5"], sparse_inference=True)["recall@5"] > 0.0


@pytest.mark.parametrize("bad, message", [
    (lambda x, y: (x[:, :100], y), r"'X' parameter of Model.train must be a matrix of 2000 feature columns"),
    (lambda x, y: (x, y[:-1]), r"'y' parameter of Model.train must be labels for each of the 300 samples"),
    (lambda x, y: (x, y + 500), r"'y' parameter of Model.train must be one id a sample of label ids in \[0, 500\).*Got 633"),
    (lambda x, y: (x, -y - 1), r"label ids in \[0, 500\)"),
    (lambda x, y: (x, y.astype(np.float64)), r"integer label ids.*Got dtype\('float64'\) instead"),
    (lambda x, y: (x, y.astype(str)), r"integer label ids"),
    (lambda x, y: (x, [[1, 2], [3.5]] + [[0]] * 298), r"lists of integer label ids"),
    (lambda x, y: (x, sparse.csr_matrix((300, 7))), r"indicator matrix with one column per output \(500\)"),
    (lambda x, y: (x.toarray()[0], y), r"2-D matrix of samples by features"),
    (lambda x, y: (x.toarray().astype(str), y), r"matrix of real numbers"),
    (lambda x, y: (x[:0], y[:0]), r"at least one sample"),
    (lambda x, y: (sparse.csr_matrix(np.where(x.toarray() > 0, np.nan, 0.0)), y), r"finite \(no NaN or infinity\); sample 0 is not. Got nan"),
    # a finite float64 beyond float32 had been refused as not finite, 'Got inf'
    (lambda x, y: (x.astype(np.float64) * 1e300, y),
     r"'X' parameter of Model.train must be values within float32's range.*Got 1e\+300"),
    (lambda x, y: (x.toarray().tolist(), y), r"'data' parameter of Model.train must be a data set of Batches .* or a "
                                             r"matrix of samples.*Got 'a list of list'"),
])
def test_bad_arrays_get_the_parameter_message(bad, message):
    data = clustered(n=300, n_classes=500, seed=2)
    x, y = bad(*_xy(data))
    with pytest.raises(ValueError, match=message):
        small_model().train(x, y=y, verbose=False)


def test_validation_is_checked_before_training_and_may_be_a_list_pair():
    data = clustered(n=100)
    x, y = _xy(data)
    model = small_model()
    # a matrix without its labels had failed deep inside (no attribute 'inputs') after an epoch
    with pytest.raises(ValueError, match=r"'validation' parameter of Model.train must be a pair \(X_val, y_val\)"):
        model.train(x, y=y, validation=x, verbose=False)
    with pytest.raises(ValueError, match=r"'validation' parameter of Model.train must be a data set of Batches"):
        model.train(x, y=y, validation=[[1, 2]], verbose=False)
    assert model.epochs == 0
    history = model.train(x, y=y, validation=[x, y], metrics=["precision@1"], verbose=False)
    assert "val_precision@1" in history.epochs[0]


def test_matrix_only_arguments_are_refused_with_a_data_set():
    data = clustered(n=100)
    model = small_model()
    with pytest.raises(ValueError, match=r"'y' parameter of Model.train must be None when the data is a data set"):
        model.train(data, y=np.zeros(100, dtype=int), verbose=False)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of Model.predict must be None"):
        model.predict(data, batch_size=10)
    x, _ = _xy(data)
    with pytest.raises(ValueError, match=r"'y' parameter of Model.evaluate must be the labels"):
        model.evaluate(x)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of Model.train must be an int >= 1"):
        model.train(x, y=np.zeros(100, dtype=int), batch_size=0, verbose=False)


def test_csr_of_int32_ids_and_float32_values_is_not_copied():
    from sparsebolt.data.arrays import to_dataset
    x, y = _xy(clustered(n=100))
    x = x.astype(np.float32)
    data = to_dataset("t", x, y, 2000, 500)
    assert np.shares_memory(data.features.ids, x.indices)
    assert np.shares_memory(data.features.vals, x.data)
