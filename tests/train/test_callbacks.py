"""Early stopping and weight averaging: the best or averaged epochs' weights and hash tables
come back, diverged epochs are left out, and the settings are checked."""
import copy
import warnings

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.train import AverageWeights, EarlyStopping

from ..io.helpers import same_weights
from ..synthetic import clustered, small_model


def _noisy_task(seed):
    """Few samples whose labels are half noise: the model overfits after a few epochs."""
    data = clustered(n=600, n_classes=50, n_features=400, seed=seed, batch_size=32)
    rng = np.random.default_rng(seed)
    noisy = rng.random(data.n_samples) < 0.5
    data.labels.ids[noisy] = rng.integers(0, 50, int(noisy.sum()))
    return data


def test_early_stopping_stops_early_and_keeps_the_best_weights():
    train, val = _noisy_task(0), clustered(n=600, n_classes=50, n_features=400, seed=0, batch_size=256)
    val.labels.ids[:] = clustered(n=600, n_classes=50, n_features=400, seed=0).labels.ids
    model = small_model(n_features=400, n_classes=50, sparsity=1.0, hidden=64)
    stop = EarlyStopping("val_precision@1", patience=2)
    history = model.train(train, epochs=60, learning_rate=1e-2, validation=val, metrics=["precision@1"],
                          callbacks=[stop], verbose=False)
    curve = history["val_precision@1"]
    assert len(curve) < 60, "the noisy task should stop long before 60 epochs"
    assert stop.best_epoch == int(np.argmax(curve)) + 1 < len(curve)
    assert model.evaluate(val, metrics=["precision@1"])["precision@1"] == max(curve)


def _spread(data, times):
    """``data`` with feature j moved to j * times: a table ``times`` as wide, mostly untrained."""
    f = data.features
    return sb.data.SparseDataset(f.offsets, f.ids * times, f.vals, data.labels, dim=f.dim * times,
                                 batch_size=data.batch_size)


def test_early_stopping_keeps_only_the_embedding_rows_the_data_can_move(monkeypatch, one_thread):
    # the best epoch comes back whole from a copy of the rows the training data holds: the
    # optimizers never move the others
    def run():
        train = _spread(_noisy_task(0), 10)
        val = _spread(clustered(n=600, n_classes=50, n_features=400, seed=0, batch_size=256), 10)
        model = small_model(n_features=4000, n_classes=50, sparsity=1.0, hidden=16)
        stop = EarlyStopping("val_precision@1", patience=2)
        history = model.train(train, epochs=60, learning_rate=1e-2, validation=val, metrics=["precision@1"],
                              callbacks=[stop], verbose=False)
        assert stop.best_epoch < len(history.epochs)  # an earlier epoch's weights were put back
        return model, np.unique(train.features.ids)

    copied = []
    snapshot = sb.train.callbacks.snapshot
    monkeypatch.setattr(sb.train.callbacks, "snapshot",
                        lambda model, into=None, rows=None: copied.append(snapshot(model, into, rows)) or copied[-1])
    from_rows, held = run()
    assert copied[-1][0]["embedding_1/E"].shape == (held.size, 16) and held.size <= 400
    monkeypatch.setattr(sb.Model, "rows_trained_by", lambda self, data: None)
    from_whole, _ = run()
    assert copied[-1][0]["embedding_1/E"].shape == (4000, 16)
    assert same_weights(from_rows, from_whole)


class _Scripted(sb.train.Callback):
    """Writes the next of ``values`` as 'val_x' into each epoch's logs (before the callbacks
    after it read them) and keeps a copy of every parameter."""

    def __init__(self, values):
        self.values, self.weights = list(values), []

    def on_epoch_end(self, epoch, logs, model):
        logs["val_x"] = self.values[epoch]
        self.weights.append({p.name: p.value.copy() for p in model.parameters()})


@pytest.mark.parametrize("spread", [1, 10])
def test_averaging_early_stopping_keeps_the_mean_from_the_best_epoch_on(spread, one_thread):
    # best at epoch 2, then two worse ones: the mean of epochs 2, 3 and 4 (with spread 10 the
    # embedding is copied and averaged by the rows the data holds)
    data = _spread(clustered(n=640, n_features=40, batch_size=128), spread)
    model = small_model(n_features=40 * spread, sparsity=1.0, hidden=16)
    script = _Scripted([0.1, 0.5, 0.4, 0.3, 0.2])
    stop = EarlyStopping("val_x", patience=2, average=True)
    history = model.train(data, epochs=5, learning_rate=1e-2, callbacks=[script, stop], verbose=False)
    assert len(history.epochs) == 4 and stop.best_epoch == 2 and stop.averaged_epochs == 3
    assert (history.best_epoch, history.averaged_epochs) == (2, 3)
    for p in model.parameters():
        mean = np.mean([np.float64(w[p.name]) for w in script.weights[1:4]], axis=0)
        np.testing.assert_allclose(p.value, mean, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(model.output.layer.W.value, script.weights[1][model.output.layer.W.name])
    # without averaging the best epoch's own weights come back, bit for bit
    model = small_model(n_features=40 * spread, sparsity=1.0, hidden=16)
    script = _Scripted([0.1, 0.5, 0.4, 0.3, 0.2])
    stop = EarlyStopping("val_x", patience=2)
    history = model.train(data, epochs=5, learning_rate=1e-2, callbacks=[script, stop], verbose=False)
    assert stop.averaged_epochs == 0 and (history.best_epoch, history.averaged_epochs) == (2, 0)
    for p in model.parameters():
        np.testing.assert_array_equal(p.value, script.weights[1][p.name])


def _tables_of(index, weights):
    """Bucket contents of ``index``'s tables built now from ``weights`` (its last seed)."""
    tables = copy.deepcopy(index.tables)
    tables.build(index.hash_fn.hash_dense(weights), index.seed + index.rebuilds)
    return tables.buckets, tables.counts


def test_averaging_rebuilds_the_hash_tables_from_the_mean_unless_they_are_frozen(one_thread):
    data = clustered(n=640, batch_size=128)
    def run(label_augmentation):
        model = small_model()
        stop = EarlyStopping("val_x", patience=2, average=True)
        model.train(data, epochs=5, learning_rate=1e-2, callbacks=[_Scripted([0.1, 0.5, 0.4, 0.3, 0.2]), stop],
                    label_augmentation=label_augmentation, verbose=False)
        assert stop.averaged_epochs == 3
        layer = model.output.layer
        return layer.index, _tables_of(layer.index, layer.W.value)

    index, (buckets, counts) = run(label_augmentation=False)
    np.testing.assert_array_equal(index.tables.buckets, buckets)
    np.testing.assert_array_equal(index.tables.counts, counts)
    # tables frozen from epoch 2 on, training labels pinned into them, stay as trained
    index, (buckets, counts) = run(label_augmentation=True)
    assert index.frozen and index.tables.pinned.any()
    assert not np.array_equal(index.tables.counts, counts)


class _Diverging(_Scripted):
    """As ``_Scripted``, and from epoch ``at`` (0-based) on the weights are NaN, as a run
    that diverged leaves them."""

    def __init__(self, values, at):
        super().__init__(values)
        self.at = at

    def on_epoch_end(self, epoch, logs, model):
        if epoch >= self.at:
            model.output.layer.W.value[0, 0] = np.nan
        super().on_epoch_end(epoch, logs, model)


def test_averaging_puts_back_the_best_epoch_when_later_ones_diverged():
    data = clustered(n=640, batch_size=128)
    model = small_model(sparsity=1.0)
    script = _Diverging([0.1, 0.5, 0.4, 0.3], at=2)
    stop = EarlyStopping("val_x", patience=2, average=True)
    with pytest.warns(RuntimeWarning, match="not all finite.*best epoch's weights are put back"):
        model.train(data, epochs=4, learning_rate=1e-2, callbacks=[script, stop], verbose=False)
    assert stop.best_epoch == 2 and stop.averaged_epochs == 1
    for p in model.parameters():
        np.testing.assert_array_equal(p.value, script.weights[1][p.name])
    with pytest.raises(ValueError, match="'average' parameter of EarlyStopping must be False when "
                                         "restore_best_weights is False"):
        EarlyStopping("val_x", restore_best_weights=False, average=True)


@pytest.mark.parametrize("name", ["restore_best_weights", "average"])
def test_early_stopping_flags_are_bools_not_truthy_strings(name):
    # bool('no') had read as true
    with pytest.raises(ValueError, match=f"The '{name}' parameter of EarlyStopping must be a bool. Got 'no' instead."):
        EarlyStopping("val_x", **{name: "no"})
    assert getattr(EarlyStopping("val_x", **{name: np.bool_(True)}), name) is True


@pytest.mark.parametrize("spread", [1, 10])
def test_average_weights_keeps_the_mean_from_its_epoch_on_as_early_stopping_does(spread, one_thread):
    data = _spread(clustered(n=640, n_features=40, batch_size=128), spread)
    model = small_model(n_features=40 * spread, sparsity=1.0, hidden=16)
    script, mean = _Scripted([0.0] * 5), AverageWeights(3)
    model.train(data, epochs=5, learning_rate=1e-2, callbacks=[script, mean], verbose=False)
    assert mean.averaged_epochs == 3
    for p in model.parameters():
        expected = np.mean([np.float64(w[p.name]) for w in script.weights[2:5]], axis=0)
        np.testing.assert_allclose(p.value, expected, rtol=1e-6, atol=1e-7)
    # the same weights as an early stop whose best epoch is that one
    again = small_model(n_features=40 * spread, sparsity=1.0, hidden=16)
    stop = EarlyStopping("val_x", patience=2, average=True)
    again.train(data, epochs=5, learning_rate=1e-2, callbacks=[_Scripted([0.1, 0.2, 0.5, 0.4, 0.3]), stop],
                verbose=False)
    assert stop.best_epoch == 3 and stop.averaged_epochs == 3 and same_weights(model, again)


def test_average_weights_of_a_run_that_ends_before_its_epoch_or_diverges():
    data = clustered(n=640, batch_size=128)
    model = small_model(sparsity=1.0)
    script, mean = _Scripted([0.0] * 2), AverageWeights(3)
    model.train(data, epochs=2, learning_rate=1e-2, callbacks=[script, mean], verbose=False)
    assert mean.averaged_epochs == 0  # the last weights stay
    for p in model.parameters():
        np.testing.assert_array_equal(p.value, script.weights[1][p.name])
    model = small_model(sparsity=1.0)
    script, mean = _Diverging([0.0] * 4, at=2), AverageWeights(2)
    with pytest.warns(RuntimeWarning, match="AverageWeights: the weights of the 2 epochs after epoch 2 are not "
                                            "all finite.*epoch 2's weights are put back"):
        model.train(data, epochs=4, learning_rate=1e-2, callbacks=[script, mean], verbose=False)
    assert mean.averaged_epochs == 1
    for p in model.parameters():
        np.testing.assert_array_equal(p.value, script.weights[1][p.name])
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="'start' parameter of AverageWeights"):
            AverageWeights(bad)


def test_averaging_with_the_last_epoch_best_keeps_it():
    data = clustered(n=640, batch_size=128)
    model = small_model(sparsity=1.0)
    script = _Scripted([0.1, 0.2, 0.3])
    stop = EarlyStopping("val_x", patience=2, average=True)
    model.train(data, epochs=3, learning_rate=1e-2, callbacks=[script, stop], verbose=False)
    assert stop.best_epoch == 3 and stop.averaged_epochs == 1
    for p in model.parameters():
        np.testing.assert_array_equal(p.value, script.weights[2][p.name])


def test_restoring_the_best_epoch_restores_its_hash_tables():
    data = clustered(n=640, batch_size=128)
    model = small_model(sparsity=0.1)
    stop = EarlyStopping("val_precision@1", patience=1)
    stop.on_train_begin(model)
    stop.on_epoch_end(0, {"val_precision@1": 0.5}, model)
    index = model.output.layer.index
    buckets, w = index.tables.buckets.copy(), model.output.layer.W.value.copy()
    model.train(data, epochs=3, learning_rate=1e-2, verbose=False)
    assert not np.array_equal(w, model.output.layer.W.value)
    stop.on_train_end(model)
    np.testing.assert_array_equal(model.output.layer.W.value, w)
    np.testing.assert_array_equal(index.tables.buckets, buckets)


def test_a_callback_that_is_no_callback_is_refused_in_the_template():
    with pytest.raises(TypeError) as err:
        small_model().train(clustered(n=64), epochs=1, callbacks=[42], verbose=False)
    assert str(err.value) == "The 'callbacks' parameter of train must hold sb.train.Callback instances. Got 42 instead."


def test_early_stopping_names_a_missing_metric():
    data = clustered(n=256, batch_size=128)
    with pytest.raises(ValueError, match="val_recall@5"):
        small_model().train(data, epochs=2, callbacks=[EarlyStopping("val_recall@5")], verbose=False)
    with pytest.raises(ValueError, match="'patience' parameter of EarlyStopping"):
        EarlyStopping("val_precision@1", patience=0)


def test_a_nan_monitor_warns_once_and_never_improves():
    stop = EarlyStopping("val_auc", patience=2, restore_best_weights=False)
    with pytest.warns(RuntimeWarning, match=r"EarlyStopping: val_auc is NaN after epoch 1 .*'auc' over one class"):
        stop.on_epoch_end(0, {"val_auc": float("nan")}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stop.on_epoch_end(1, {"val_auc": float("nan")}, None)
    assert stop.stop_training and stop.best_epoch is None
