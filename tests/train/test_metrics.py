"""Metrics against NumPy references."""
import warnings

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data import Labels
from sparsebolt.data.value import Value
from sparsebolt.train import make_metric
from sparsebolt.train.metrics import NegativeLogLoss

from ..synthetic import clustered, small_model


def _softmax_rows(rng, n, dim):
    z = rng.normal(size=(n, dim)) * 3
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def test_neg_log_loss_is_minus_the_cross_entropy_of_each_sample_s_labels():
    rng = np.random.default_rng(0)
    metric = make_metric("neg_log_loss")
    expected, count = 0.0, 0
    for n in (7, 5):  # accumulated over batches
        p = _softmax_rows(rng, n, 9)
        # one label, two labels (mass 1/2 each), three with values (mass in proportion), none
        # and one whose values sum to 0, which training skips too
        lists = [[int(rng.integers(9))] for _ in range(n - 4)] + [[1, 4], [0, 2, 8], [], [3, 5]]
        values = [[1.0] for _ in range(n - 4)] + [[1.0, 1.0], [1.0, 2.0, 5.0], [], [1.0, -1.0]]
        labels = Labels(np.cumsum([0] + [len(x) for x in lists]), np.concatenate(lists).astype(np.int32),
                        np.concatenate(values).astype(np.float32))
        metric.update(None, None, labels, Value.dense(p))
        for row, (ids, vals) in enumerate(zip(lists, values)):
            if sum(vals) > 0:
                w = np.array(vals) / sum(vals)
                expected += float((w * np.log(p[row, ids].astype(np.float64))).sum())
                count += 1
    assert metric.result() == pytest.approx(expected / count, rel=1e-12)
    empty = make_metric("neg_log_loss")
    empty.update(None, None, Labels(np.zeros(3), np.zeros(0, np.int32)), Value.dense(_softmax_rows(rng, 2, 9)))
    assert np.isnan(empty.result())


def test_neg_log_loss_with_a_slope_scales_a_binary_output_s_log_odds():
    rng = np.random.default_rng(2)
    p = _softmax_rows(rng, 6, 2)
    y = rng.integers(2, size=6)
    # one row confidently wrong: log-odds of -40 (float32 holds e^-40; a floor of 1e-12 had made them -27.6)
    p[0] = [1.0, np.exp(-40.0)]
    y[0] = 1
    metric = make_metric(NegativeLogLoss(slope=0.5, shift=0.3))   # a fresh one, of the same slope and shift
    metric.update(None, None, Labels(np.arange(7), y.astype(np.int32)), Value.dense(p))
    second = 1 / (1 + np.exp(-(0.5 * np.log(p[:, 1].astype(np.float64) / p[:, 0]) + 0.3)))
    expected = np.mean(np.log(np.maximum(np.where(y == 1, second, 1 - second), 1e-12)))
    assert metric.result() == pytest.approx(expected, rel=1e-6)
    # a sparse two-neuron output (one neuron a row): the other counts as probability 0, not an error
    sparse = Value(2, p[np.arange(6), y].astype(np.float32), y.astype(np.int32), np.arange(7, dtype=np.int64))
    one = make_metric(metric)
    one.update(None, None, Labels(np.arange(7), y.astype(np.int32)), sparse)
    assert np.isfinite(one.result()) and one.result() < 0
    # a saturated row (a neuron at probability 0) at a steep slope: no overflow warning
    steep = make_metric(NegativeLogLoss(slope=12.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        steep.update(None, None, Labels(np.arange(3), np.array([1, 0], np.int32)),
                     Value.dense(np.array([[0.0, 1.0], [0.5, 0.5]], dtype=np.float32)))
    assert steep.result() == pytest.approx(np.log(0.5) / 2)
    with pytest.raises(ValueError, match="needs an output of 2 neurons. Got 9 instead"):
        metric.update(None, None, Labels(np.arange(3), np.zeros(2, np.int32)), Value.dense(_softmax_rows(rng, 2, 9)))


def test_neg_log_loss_of_a_sparse_output_reads_each_label_s_entry():
    rng = np.random.default_rng(1)
    p = _softmax_rows(rng, 4, 50)
    active = [np.array([3, 17, 40]), np.array([49, 0]), np.array([], dtype=int), np.array([8, 9, 10, 11])]
    out = Value(50, np.concatenate([p[i, a] for i, a in enumerate(active)]).astype(np.float32),
                np.concatenate(active).astype(np.int32), np.cumsum([0] + [len(a) for a in active]).astype(np.int64))
    labels = Labels(np.arange(5), np.array([17, 0, 5, 30], dtype=np.int32))
    metric = make_metric("neg_log_loss")
    metric.update(None, None, labels, out)
    # a label outside its row's active neurons counts as probability 1e-12
    expected = (np.log(p[0, 17]) + np.log(p[1, 0]) + 2 * np.log(1e-12)) / 4
    assert metric.result() == pytest.approx(expected, rel=1e-6)


def test_evaluate_gives_neg_log_loss_of_the_model_s_own_probabilities():
    data = clustered(n=300, n_features=200, n_classes=20, batch_size=100, shuffle=False)
    model = small_model(n_features=200, n_classes=20, sparsity=1.0)
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    got = model.evaluate(data, metrics=["neg_log_loss"])["neg_log_loss"]
    expected = []
    for batch in data:
        p = model.output_values(batch).to_dense().astype(np.float64)
        expected.append(np.log(p[np.arange(batch.batch_size), batch.labels.ids]))
    assert got == pytest.approx(np.concatenate(expected).mean(), rel=1e-6) and got < 0


def test_neg_log_loss_needs_output_values():
    model = small_model(n_features=50, n_classes=5000, sparsity=0.01)
    data = clustered(n=20, n_features=50, n_classes=5000)
    with pytest.raises(ValueError, match="'neg_log_loss' metric needs the output's probabilities"):
        model.evaluate(data, metrics=["neg_log_loss"])
    assert model.evaluate(data, metrics=["neg_log_loss"], sparse_inference=True)["neg_log_loss"] < 0
    with pytest.raises(ValueError, match="'neg_log_loss'"):
        make_metric("log_loss")
    assert "neg_log_loss" in sb.train.METRICS


_VALID = ("one of 'precision@k', 'recall@k', 'categorical_accuracy', 'auc', 'neg_log_loss' (k a positive integer, "
          "e.g. 'precision@5'). Got 'acc' instead.")


def test_an_unknown_metric_name_names_the_parameter_that_gave_it():
    # the message had named no owner or parameter: "Unknown metric 'acc'. Valid metrics: ..."
    with pytest.raises(ValueError) as err:
        make_metric("acc")
    assert str(err.value) == f"The 'name' parameter of make_metric must be {_VALID}"
    model, data = small_model(n_features=50, n_classes=10), clustered(n=20, n_features=50, n_classes=10)
    with pytest.raises(ValueError) as err:
        model.evaluate(data, metrics=["precision@1", "acc"])
    assert str(err.value) == f"The 'metrics' parameter of evaluate must be {_VALID}"
    with pytest.raises(ValueError) as err:
        model.train(data, epochs=1, metrics=["acc"], verbose=False)
    assert str(err.value) == f"The 'metrics' parameter of train must be {_VALID}"
    udt = sb.UniversalDeepTransformer({"t": sb.types.text(), "y": sb.types.categorical(n_classes=3)}, target="y")
    with pytest.raises(ValueError) as err:
        udt.train([{"t": "a b", "y": "1"}], validation_metric="acc", verbose=False)
    assert str(err.value) == f"The 'validation_metric' parameter of train must be {_VALID}"


def _auc_of(scores, label_lists, dim):
    """make_metric('auc') over one batch: ``label_lists`` each sample's label ids."""
    p = np.asarray(scores, dtype=np.float32)
    vals = np.stack([1 - p, p], axis=1) if dim == 2 else p[:, None]
    offsets = np.cumsum([0] + [len(x) for x in label_lists]).astype(np.int64)
    labels = Labels(offsets, np.array([i for x in label_lists for i in x], dtype=np.int32))
    m = make_metric("auc")
    m.update(None, None, labels, Value.dense(vals))
    return m.result()


def test_auc_of_a_sparse_two_neuron_output_reads_a_neuron_left_out_as_zero():
    labels = Labels(np.arange(5, dtype=np.int64), np.array([1, 0, 1, 0], dtype=np.int32))
    p = np.array([0.9, 0.4, 0.6, 0.2], dtype=np.float32)
    both = Value.fixed_width(2, np.tile(np.array([1, 0], dtype=np.int32), (4, 1)), np.stack([p, 1 - p], axis=1))
    m = make_metric("auc")
    m.update(None, None, labels, both)
    assert m.result() == 1.0
    # the third sample's set holds neuron 0 alone: its neuron 1 scores 0, below both negatives
    one = Value(2, np.array([0.9, 0.1, 0.4, 0.6, 1.0, 0.2, 0.8], dtype=np.float32),
                np.array([1, 0, 1, 0, 0, 1, 0], dtype=np.int32), np.array([0, 2, 4, 5, 7], dtype=np.int64))
    m = make_metric("auc")
    m.update(None, None, labels, one)
    assert m.result() == 0.5
    inp = sb.Input(dim=50)
    out = sb.FullyConnected(dim=2, sparsity=0.5, activation="softmax")(sb.Embedding(dim=8, activation="relu")(inp))
    model = sb.Model(inp, out)
    X = np.random.default_rng(0).random((16, 50), dtype=np.float32)
    y = np.arange(16) % 2
    model.train(X, y=y, epochs=1, batch_size=8, verbose=False)
    # both neurons are active: sparse inference scores as the dense output
    sparse = model.evaluate(X, y=y, metrics=["auc"], sparse_inference=True)["auc"]
    assert sparse == pytest.approx(model.evaluate(X, y=y, metrics=["auc"])["auc"])


def test_auc_leaves_out_samples_of_neither_class_and_warns_when_undefined():
    scores, labels = [0.9, 0.8, 0.3, 0.2], [[1], [1], [0], [0]]
    assert _auc_of(scores, labels, 2) == 1.0
    # a sample of a class the model never saw (no label id) had counted as a negative: 0.75
    assert _auc_of(scores + [0.95], labels + [[]], 2) == 1.0
    # of one sigmoid neuron, no label is the negative class itself
    assert _auc_of(scores, [[0], [0], [], []], 1) == 1.0
    with pytest.warns(UserWarning, match=r"auc is undefined \(NaN\): the samples scored hold 2 positive and 0 "
                                         r"negative"):
        assert np.isnan(_auc_of(scores[:2], labels[:2], 2))
