"""Dropout's mask: its share and scale, the same bits on any thread count and after a
resume, a new mask each step, and nothing dropped outside training."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data.value import Value
from sparsebolt.nn.layers.base import Context

from ...conftest import random_csr
from ...synthetic import clustered


def _layer(rate, dim=1000):
    layer = sb.Dropout(rate)
    layer(sb.Input(dim=dim))
    layer.build(np.random.default_rng(0))
    return layer


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5])
def test_a_share_rate_is_zeroed_and_the_rest_scaled(rate):
    layer = _layer(rate)
    x = Value.dense(np.ones((200, 1000), np.float32))
    out = layer.forward([x], Context(training=True, salt=7)).vals
    dropped = (out == 0).mean()
    assert abs(dropped - rate) < 0.01  # 200,000 draws: the share's standard error is 0.001
    np.testing.assert_array_equal(np.unique(out), [0.0, np.float32(1 / (1 - rate))])
    grad = layer.backward([x], Value.dense(out), np.ones(out.size, np.float32), [True], Context(training=True))[0]
    np.testing.assert_array_equal(grad, out.reshape(-1))  # d(x * scale)/dx = scale


def test_the_mask_follows_seed_and_step_on_any_thread_count():
    layer = _layer(0.3)
    x = Value.dense(np.random.default_rng(1).normal(size=(64, 1000)).astype(np.float32))
    before = sb.get_num_threads()
    try:
        masks = []
        for threads in (1, min(2, sb._threads.numba.config.NUMBA_NUM_THREADS)):
            sb.set_num_threads(threads)
            masks.append(layer.forward([x], Context(training=True, salt=3)).vals.copy())
    finally:
        sb.set_num_threads(before)
    np.testing.assert_array_equal(masks[0], masks[1])
    other_step = layer.forward([x], Context(training=True, salt=4)).vals
    assert (other_step == 0).mean() > 0.25 and not np.array_equal(other_step == 0, masks[0] == 0)
    other_seed = _layer(0.3)
    other_seed.build(np.random.default_rng(5))
    assert not np.array_equal(other_seed.forward([x], Context(training=True, salt=3)).vals == 0, masks[0] == 0)


def test_outside_training_the_input_passes_through():
    layer = _layer(0.5, dim=40)
    for x in (Value.dense(np.ones((3, 40), np.float32)), random_csr(np.random.default_rng(0), 3, 40, 5)):
        assert layer.forward([x], Context()) is x
        assert layer.forward([x], Context(sparse_inference=True)) is x


def test_a_sparse_input_keeps_its_entries_and_drops_values():
    layer = _layer(0.5, dim=40)
    x = random_csr(np.random.default_rng(0), 50, 40, 5)
    out = layer.forward([x], Context(training=True, salt=1))
    assert out.ids is x.ids and out.offsets is x.offsets
    kept = out.vals != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(out.vals[kept], 2 * x.vals[kept])


def _model():
    inp = sb.Input(dim=2000)
    h = sb.Embedding(dim=32, activation="relu", name="emb")(inp)
    h = sb.Dropout(0.25, name="drop")(h)
    out = sb.FullyConnected(dim=50, activation="softmax", name="out")(h)
    return sb.Model(inp, out, seed=3)


def test_a_model_file_keeps_the_seed_and_training_resumes_with_the_same_masks(tmp_path):
    data = clustered(n=640, n_classes=50, batch_size=64)
    model = _model()
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    model.save(tmp_path / "m.sbm")
    loaded = sb.Model.load(tmp_path / "m.sbm")
    assert loaded.layer("drop").seed == model.layer("drop").seed and loaded.layer("drop").rate == 0.25
    batch = next(iter(clustered(n=64, n_classes=50, batch_size=64, shuffle=False)))
    for m in (model, loaded):
        m.train_step(batch, 1e-2)
    for a, b in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    assert (model.layer("drop")._scales == 0).any()


def test_dropout_trains_a_model_and_predicts_deterministically():
    data = clustered(n=2000, n_classes=50, batch_size=64)
    model = _model()
    model.train(data, epochs=3, learning_rate=1e-2, verbose=False)
    acc = model.evaluate(data, ["precision@1"])["precision@1"]
    assert acc > 0.8
    batch = next(iter(clustered(n=64, n_classes=50, batch_size=64, shuffle=False)))
    np.testing.assert_array_equal(model.predict(batch), model.predict(batch))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.2"])
def test_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(ValueError, match=r"The 'rate' parameter of Dropout must be a number in \[0.0, 1.0\)\. Got"):
        sb.Dropout(rate)


def test_replicas_of_data_parallel_training_draw_masks_of_their_own():
    layer = _layer(0.5)
    x = Value.dense(np.ones((64, 1000), np.float32))
    masks = [layer.forward([x], Context(training=True, salt=2, stream=s)).vals == 0 for s in (0, 1, 2)]
    np.testing.assert_array_equal(masks[0], layer.forward([x], Context(training=True, salt=2)).vals == 0)
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])
    # a replica's model passes its rank to the layer: the same batch gives other gradients
    batch = next(iter(clustered(n=64, n_classes=50, batch_size=64, shuffle=False)))
    grads = []
    for rank in (0, 1):
        model = _model()
        model.stream = rank
        grads.append(model.compute_gradients(batch)[1]["out/W"][1])
    assert not np.array_equal(grads[0], grads[1])
