"""Losses against float64 references and finite differences of the pre-activations."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data import Labels
from sparsebolt.data.value import Value


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce_ref(z, label_rows, label_vals):
    p = _softmax(z)
    total = 0.0
    for s, (ids, vals) in enumerate(zip(label_rows, label_vals)):
        w = np.asarray(vals, dtype=np.float64) / np.sum(vals)
        total -= (w * np.log(p[s, ids])).sum()
    return total / z.shape[0]


def _bce_ref(z, label_rows, label_vals):
    p = 1 / (1 + np.exp(-z))
    y = np.zeros_like(z)
    for s, (ids, vals) in enumerate(zip(label_rows, label_vals)):
        y[s, ids] = vals
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / z.shape[0]


def _labels(rows, vals):
    lab = Labels.from_lists(rows)
    lab.vals[:] = np.concatenate(vals)
    return lab


def _finite_differences(ref, z, rows, vals):
    """d ref / dz by central differences."""
    fd = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += 1e-6
        zm[idx] -= 1e-6
        fd[idx] = (ref(zp, rows, vals) - ref(zm, rows, vals)) / 2e-6
    return fd


@pytest.mark.parametrize("loss_cls, ref, act", [(sb.CategoricalCrossEntropy, _ce_ref, "softmax"),
                                                (sb.BinaryCrossEntropy, _bce_ref, "sigmoid")])
def test_dense_loss_and_gradient(loss_cls, ref, act):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, (4, 9))
    rows = [[1], [2, 5], [0, 3, 8], [7]]
    vals = [[1.0], [1.0, 1.0], [0.5, 1.0, 0.25], [1.0]]
    a = _softmax(z) if act == "softmax" else 1 / (1 + np.exp(-z))
    out = Value.dense(a.astype(np.float32))
    loss, dz = loss_cls()(out, _labels(rows, vals))
    assert loss == pytest.approx(ref(z, rows, vals), rel=1e-5)
    np.testing.assert_allclose(dz.reshape(z.shape), _finite_differences(ref, z, rows, vals), rtol=1e-4, atol=1e-6)


def test_multi_label_softmax_target_weighs_each_label_equally():
    out = Value.dense(np.full((1, 4), 0.25, dtype=np.float32))
    _, dz = sb.CategoricalCrossEntropy()(out, Labels.from_lists([[0, 2]]))
    np.testing.assert_allclose(dz, [0.25 - 0.5, 0.25, 0.25 - 0.5, 0.25], rtol=1e-6)


def test_sparse_output_loss_uses_the_active_positions():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, (2, 5))
    ids = np.array([[9, 4, 7, 1, 0], [3, 2, 8, 6, 5]], dtype=np.int32)
    out = Value.fixed_width(10, ids, _softmax(z).astype(np.float32))
    rows = [[4, 0], [3]]
    loss, dz = sb.CategoricalCrossEntropy()(out, Labels.from_lists(rows))
    # the same as the dense loss over the active columns with the labels at their positions
    dense_rows = [[1, 4], [0]]
    assert loss == pytest.approx(_ce_ref(z, dense_rows, [[1.0, 1.0], [1.0]]), rel=1e-5)
    expected = _softmax(z) / 2
    expected[0, [1, 4]] -= 0.5 / 2
    expected[1, 0] -= 1.0 / 2
    np.testing.assert_allclose(dz.reshape(2, 5), expected, rtol=1e-5, atol=1e-7)


def _smoothed_ref(e):
    def ref(z, label_rows, label_vals):
        # (1 - e) of the normalised labels plus e spread over every output of the row
        p = _softmax(z)
        return (1 - e) * _ce_ref(z, label_rows, label_vals) - e * np.log(p).mean(axis=1).mean()
    return ref


@pytest.mark.parametrize("e", [0.1, 0.5])
def test_label_smoothing_loss_and_gradient_against_finite_differences(e):
    rng = np.random.default_rng(2)
    z = rng.normal(0, 1.5, (4, 9))
    rows = [[1], [2, 5], [0, 3, 8], [7]]
    vals = [[1.0], [1.0, 1.0], [0.5, 1.0, 0.25], [1.0]]
    ref = _smoothed_ref(e)
    loss, dz = sb.CategoricalCrossEntropy(label_smoothing=e)(Value.dense(_softmax(z).astype(np.float32)),
                                                             _labels(rows, vals))
    assert loss == pytest.approx(ref(z, rows, vals), rel=1e-5)
    np.testing.assert_allclose(dz.reshape(z.shape), _finite_differences(ref, z, rows, vals), rtol=1e-4, atol=1e-6)
    # no smoothing is the plain loss
    plain = sb.CategoricalCrossEntropy(label_smoothing=0.0)(Value.dense(_softmax(z).astype(np.float32)),
                                                             _labels(rows, vals))
    assert plain[0] == pytest.approx(_ce_ref(z, rows, vals), rel=1e-5)


def test_label_smoothing_over_a_sparse_output_spreads_over_the_active_neurons():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, (2, 5))
    ids = np.array([[9, 4, 7, 1, 0], [3, 2, 8, 6, 5]], dtype=np.int32)
    out = Value.fixed_width(10, ids, _softmax(z).astype(np.float32))
    loss, dz = sb.CategoricalCrossEntropy(label_smoothing=0.2)(out, Labels.from_lists([[4, 0], [3]]))
    assert loss == pytest.approx(_smoothed_ref(0.2)(z, [[1, 4], [0]], [[1.0, 1.0], [1.0]]), rel=1e-5)
    expected = (_softmax(z) - 0.2 / 5) / 2
    expected[0, [1, 4]] -= 0.8 * 0.5 / 2
    expected[1, 0] -= 0.8 / 2
    np.testing.assert_allclose(dz.reshape(2, 5), expected, rtol=1e-5, atol=1e-7)


def test_label_smoothing_is_checked_kept_in_the_config_and_skips_the_fused_gradient():
    with pytest.raises(ValueError, match="The 'label_smoothing' parameter of CategoricalCrossEntropy must be"):
        sb.CategoricalCrossEntropy(label_smoothing=1.0)
    loss = sb.CategoricalCrossEntropy(label_smoothing=0.1)
    assert loss.get_config() == {"name": "categorical_cross_entropy", "label_smoothing": 0.1}
    assert sb.CategoricalCrossEntropy().get_config() == {"name": "categorical_cross_entropy"}
    assert sb.CategoricalCrossEntropy().softmax_ce and not loss.softmax_ce


def test_a_sparse_model_with_label_smoothing_learns_and_keeps_it_through_a_file(tmp_path):
    from ..synthetic import clustered

    data = clustered()
    inp = sb.Input(dim=2000)
    h = sb.Embedding(dim=32, activation="relu")(inp)
    out = sb.FullyConnected(dim=500, sparsity=0.1, activation="softmax")(h)
    model = sb.Model(inputs=inp, outputs=out, loss=sb.CategoricalCrossEntropy(label_smoothing=0.1), seed=0)
    history = model.train(data, epochs=4, learning_rate=1e-2, validation=data, metrics=["precision@1"],
                          verbose=False)
    assert history["val_precision@1"][-1] > 0.9
    model.save(tmp_path / "m.sbm")
    loaded = sb.Model.load(tmp_path / "m.sbm")
    assert loaded.loss.label_smoothing == 0.1 and not loaded.loss.softmax_ce
    batch = next(iter(data))
    np.testing.assert_array_equal(loaded.predict(batch.inputs[0]), model.predict(batch.inputs[0]))
