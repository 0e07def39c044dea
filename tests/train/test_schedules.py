"""Learning-rate schedules and early stopping in the training loop."""
import copy
import warnings

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.train import AverageWeights, Constant, EarlyStopping, Replay, WarmupDecay, WarmupPlateau

from ..io.helpers import same_weights
from ..synthetic import clustered, flat_validation, small_model


def test_warmup_decay_rises_then_falls_to_its_floor():
    s = WarmupDecay(1e-2, warmup_steps=10, total_steps=110, final_fraction=0.1)
    rates = [s(t) for t in range(130)]
    assert rates[0] == pytest.approx(1e-3) and rates[9] == pytest.approx(1e-2)
    assert all(a <= b for a, b in zip(rates[:10], rates[1:10]))
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))
    assert rates[110] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-3)


def test_warmup_plateau_halves_when_the_metric_stalls():
    s = WarmupPlateau(1e-2, warmup_steps=0, monitor="val_precision@1", factor=0.5, patience=1)
    for value, expected in ((0.5, 1e-2), (0.6, 1e-2), (0.6, 5e-3), (0.59, 2.5e-3), (0.7, 2.5e-3)):
        s.on_epoch_end(0, {"val_precision@1": value})
        assert s(100) == pytest.approx(expected)
    with pytest.raises(ValueError, match="val_recall@5.*val_precision@1"):
        WarmupPlateau(1e-2, 0, "val_recall@5").on_epoch_end(0, {"loss": 1.0, "val_precision@1": 0.5})


def test_warmup_plateau_counts_no_plateau_while_warming_up():
    s = WarmupPlateau(1e-2, warmup_steps=100, monitor="val_precision@1", factor=0.5, patience=1)
    rates = []
    for epoch in range(4):  # 40-step epochs, the metric flat throughout
        rates += [s(step) for step in range(40 * epoch, 40 * epoch + 40)]
        s.on_epoch_end(epoch, {"val_precision@1": 0.5})
    assert rates[99] == pytest.approx(1e-2) and all(a < b for a, b in zip(rates[:99], rates[1:100]))
    # the first flat epoch ended after the warm-up (the third's, step 119) lowers the rate
    assert rates[120:] == [pytest.approx(5e-3)] * 40 and s(160) == pytest.approx(2.5e-3)


def test_train_feeds_the_schedule_every_step():
    seen = []

    class Recording(Constant):
        def __call__(self, step):
            seen.append(step)
            return super().__call__(step)

    data = clustered(n=640, batch_size=128)
    history = small_model().train(data, epochs=2, learning_rate=Recording(1e-3), verbose=False)
    assert seen == list(range(10))
    assert history["learning_rate"] == [1e-3, 1e-3] and history["batches"] == [5, 5]


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


def test_a_number_or_a_schedule_but_nothing_else():
    with pytest.raises(ValueError, match="'learning_rate' parameter of train"):
        small_model().train(clustered(n=128), learning_rate="fast", verbose=False)
    assert isinstance(sb.train.WarmupDecay(1e-3, 1, 10), sb.train.Schedule)


def test_warmup_plateau_grows_the_batch_before_it_lowers_the_rate():
    s = WarmupPlateau(1e-2, warmup_steps=0, monitor="val_auc", patience=1, max_batch_growth=4)
    seen = []
    for value in (0.5, 0.5, 0.5, 0.5, 0.6, 0.6):
        s.on_epoch_end(0, {"val_auc": value})
        seen.append((s.batch_growth, s(100)))
    assert seen == [(1, 1e-2), (2, 1e-2), (4, 1e-2), (4, 5e-3), (4, 5e-3), (4, 2.5e-3)]
    with pytest.raises(ValueError, match="The 'max_batch_growth' parameter of WarmupPlateau"):
        WarmupPlateau(1e-2, 0, "val_auc", max_batch_growth=0)


def test_replay_trains_a_plateau_runs_epochs_again_without_its_metric():
    # the first run follows the held-out metric; the replay, given every epoch's setting,
    # takes the same rates and batch sizes on data with no validation (the later epochs'
    # settings are the same, whatever the metric does then)
    data, val = clustered(n=640, batch_size=32, seed=0), clustered(n=200, batch_size=200, seed=1)
    plateau = WarmupPlateau(4e-3, warmup_steps=15, monitor="val_precision@1", patience=1, max_batch_growth=4)
    first = small_model().train(data, epochs=8, learning_rate=plateau, validation=val, metrics=["precision@1"],
                                verbose=False)
    assert len(plateau.settings) == 9 and plateau.settings[0] == (1.0, 1)
    assert len(set(plateau.settings)) > 1  # the run grew its batch or lowered its rate
    replay = Replay(plateau.peak, plateau.warmup_steps, plateau.settings[:6])
    again = small_model().train(data, epochs=6, learning_rate=replay, verbose=False)
    for key in ("learning_rate", "batches", "samples"):
        assert again[key] == first[key][:6]
    with pytest.raises(ValueError, match="The 'settings' parameter of Replay must be a non-empty list"):
        Replay(1e-3, 0, [(1.0, 1), (0.0, 1)])
    for bad in ([], [(True, 1)], [(1.0, True)], [(1.0, 1.5)], [(1.0,)], "x"):
        with pytest.raises(ValueError, match="The 'settings' parameter of Replay"):
            Replay(1e-3, 0, bad)
    assert Replay(1e-3, 0, [(np.float32(0.5), np.int64(2))]).settings == [(0.5, 2)]


def test_warmup_plateau_stops_training_below_its_min_scale():
    s = WarmupPlateau(1e-2, warmup_steps=0, monitor="val_auc", patience=1, max_batch_growth=2, min_scale=0.25)
    seen = []
    for value in (0.5, 0.5, 0.5, 0.6, 0.6, 0.6):
        s.on_epoch_end(0, {"val_auc": value})
        seen.append((s.batch_growth, s(100), s.stop_training))
    # the batch grows, the rate halves twice to a quarter, then the next plateau stops
    assert seen == [(1, 1e-2, False), (2, 1e-2, False), (2, 5e-3, False), (2, 5e-3, False),
                    (2, 2.5e-3, False), (2, 2.5e-3, True)]
    s.reset()
    assert not s.stop_training and s(100) == 1e-2
    # the batch grows first, even with a floor at the peak; then the next plateau stops
    s = WarmupPlateau(1e-2, warmup_steps=0, monitor="val_auc", patience=1, max_batch_growth=2, min_scale=1.0)
    s.on_epoch_end(0, {"val_auc": 0.5})
    s.on_epoch_end(1, {"val_auc": 0.5})
    assert (s.batch_growth, s.stop_training) == (2, False)
    s.on_epoch_end(2, {"val_auc": 0.5})
    assert s.stop_training and s(100) == 1e-2
    # a rounding's allowance: 0.7 twice is 0.48999999999999994, not below a floor of 0.49
    s = WarmupPlateau(1e-2, warmup_steps=0, monitor="val_auc", factor=0.7, patience=1, min_scale=0.49)
    for epoch in range(3):
        s.on_epoch_end(epoch, {"val_auc": 0.5})
    assert not s.stop_training and s(100) == pytest.approx(4.9e-3)
    with pytest.raises(ValueError, match=r"The 'min_scale' parameter of WarmupPlateau must be a number in \[0.0, 1.0\]"):
        WarmupPlateau(1e-2, 0, "val_auc", min_scale=1.5)


def test_train_stops_when_the_schedule_says_so(tmp_path):
    # a flat metric: every epoch after the first is a plateau
    def floored():
        return WarmupPlateau(1e-2, warmup_steps=0, monitor="val_flat", patience=1, min_scale=0.5)

    history = small_model().train(clustered(n=640, batch_size=64), epochs=10, learning_rate=floored(),
                                  verbose=False, checkpoint_dir=tmp_path, **flat_validation())
    assert history["learning_rate"] == [1e-2, 1e-2, 5e-3]
    # resumed, the schedule is brought back to where it stood, stopped: no epoch more
    resumed = small_model().train(clustered(n=640, batch_size=64), epochs=10, learning_rate=floored(),
                                  verbose=False, checkpoint_dir=tmp_path, resume=True, **flat_validation())
    assert resumed["learning_rate"] == [1e-2, 1e-2, 5e-3]


class _GrowsAfterFirstEpoch(Constant):
    max_batch_growth = 2

    def on_epoch_end(self, epoch, logs):
        self.batch_growth = 2


def test_train_takes_the_grown_batch_and_gives_the_data_its_own_back():
    data = clustered(n=640, batch_size=64)
    history = small_model().train(data, epochs=3, learning_rate=_GrowsAfterFirstEpoch(1e-3), verbose=False)
    assert history["batches"] == [10, 5, 5] and history["samples"] == [640, 640, 640]
    assert data.batch_size == 64
    with pytest.raises(ValueError, match="max_batch_growth=2.*no 'batch_size'"):
        small_model().train(list(data), epochs=2, learning_rate=_GrowsAfterFirstEpoch(1e-3), verbose=False)


    class Fails(sb.Callback):
        def on_batch_end(self, step, logs, model):
            if step == 12:  # in the second epoch, in steps of 128 rows
                raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        small_model().train(data, epochs=3, learning_rate=_GrowsAfterFirstEpoch(1e-3), verbose=False,
                            callbacks=[Fails()])
    assert data.batch_size == 64


def test_train_checks_the_growth_a_schedule_asks_for():
    class Overgrows(Constant):  # grows past its max_batch_growth of 1
        def on_epoch_end(self, epoch, logs):
            self.batch_growth = 2

    with pytest.raises(ValueError, match=r"asks for batch_growth=2, which must be an int in \[1, max_batch_growth=1\]"):
        small_model().train(clustered(n=640), epochs=2, learning_rate=Overgrows(1e-3), verbose=False)

    class ReadOnly:  # a batch size that can be read but not set
        def __init__(self, data):
            self.data = data

        @property
        def batch_size(self):
            return self.data.batch_size

        def __iter__(self):
            return iter(self.data)

    with pytest.raises(ValueError, match="max_batch_growth=2.*no 'batch_size' to set"):
        small_model().train(ReadOnly(clustered(n=640)), epochs=2, learning_rate=_GrowsAfterFirstEpoch(1e-3),
                            verbose=False)


def test_a_schedule_given_to_train_again_starts_over():
    schedule = WarmupPlateau(1e-2, warmup_steps=0, monitor="val_flat", patience=1, max_batch_growth=2)
    data = clustered(n=640, batch_size=64)
    # a flat metric: every epoch after the first is a plateau
    first = small_model().train(data, epochs=3, learning_rate=schedule, verbose=False, **flat_validation())
    second = small_model().train(data, epochs=3, learning_rate=schedule, verbose=False, **flat_validation())
    assert first["batches"] == second["batches"] == [10, 10, 5]
    assert first["learning_rate"] == second["learning_rate"] == [1e-2, 1e-2, 1e-2]


def test_a_grown_batch_rebuilds_the_tables_as_often_per_sample():
    model = small_model()
    index = model.sparse_layers()[0].index
    intervals = []

    class Intervals(sb.Callback):
        def on_batch_end(self, step, logs, model):
            if not intervals or intervals[-1] != index.rebuild_every:
                intervals.append(index.rebuild_every)

    data = clustered(n=3000, batch_size=32)
    model.train(data, epochs=2, learning_rate=_GrowsAfterFirstEpoch(1e-3), verbose=False, callbacks=[Intervals()])
    own, grown = intervals
    assert abs(2 * grown - own) <= 2  # in batches twice the size: half as many batches apart, give or take rounding
    assert index.rebuild_every == own  # the data's own batch size back, and its schedule


def test_a_schedule_keeps_the_growth_it_starts_with():
    class AlwaysTwice(Constant):  # state no epoch changes: nothing to reset
        max_batch_growth = batch_growth = 2

    history = small_model().train(clustered(n=640, batch_size=64), epochs=2, learning_rate=AlwaysTwice(1e-3),
                                  verbose=False)
    assert history["batches"] == [5, 5]


def test_a_tie_breaker_decides_between_equal_values():
    # (precision, neg log-loss) by epoch: a tie with a better loss improves, one with a worse loss does not
    epochs = [(0.5, -2.0), (0.5, -1.5), (0.5, -1.6), (0.6, -1.7)]
    model = small_model()
    for tie_breaker, best_epochs, rates in ((None, [1, 1, 1, 4], [1e-2, 5e-3, 2.5e-3, 2.5e-3]),
                                            ("val_l", [1, 2, 2, 4], [1e-2, 1e-2, 5e-3, 5e-3])):
        stop = EarlyStopping("val_p", patience=5, tie_breaker=tie_breaker)
        plateau = WarmupPlateau(1e-2, 0, "val_p", factor=0.5, patience=1, tie_breaker=tie_breaker)
        stop.on_train_begin(model)
        for epoch, ((p, l), best, rate) in enumerate(zip(epochs, best_epochs, rates)):
            stop.on_epoch_end(epoch, {"val_p": p, "val_l": l}, model)
            plateau.on_epoch_end(epoch, {"val_p": p, "val_l": l})
            assert (stop.best_epoch, plateau(100)) == (best, pytest.approx(rate)), (tie_breaker, epoch)
        assert stop.best == 0.6 and stop.best_tie == (-1.7 if tie_breaker else -np.inf)
    with pytest.raises(ValueError, match="'tie_breaker' parameter of EarlyStopping must be a validation value"):
        EarlyStopping("val_p", tie_breaker="")
    with pytest.raises(ValueError, match="'tie_breaker' parameter of WarmupPlateau must be a validation value"):
        WarmupPlateau(1e-2, 0, "val_p", tie_breaker=3)
    with pytest.raises(ValueError, match="EarlyStopping breaks ties by 'val_l', which the epoch logs lack"):
        EarlyStopping("val_p", tie_breaker="val_l").on_epoch_end(0, {"val_p": 0.5}, model)
    with pytest.raises(ValueError, match="WarmupPlateau breaks ties by 'val_l', which the epoch logs lack"):
        WarmupPlateau(1e-2, 0, "val_p", tie_breaker="val_l").on_epoch_end(0, {"val_p": 0.5})


@pytest.mark.parametrize("key", ["loss", "epoch", "seconds", "learning_rate", "val_", "", None])
def test_only_a_validation_value_is_followed(key):
    # followed as if higher were better, a falling training loss kept the worst epoch
    for make in (lambda: EarlyStopping(key), lambda: WarmupPlateau(1e-2, 0, key),
                 lambda: EarlyStopping("val_auc", tie_breaker=key or 3)):
        with pytest.raises(ValueError, match=r"must be a validation value of the epoch logs, higher for better"):
            make()


def test_a_nan_monitor_warns_once_and_never_improves():
    stop = EarlyStopping("val_auc", patience=2, restore_best_weights=False)
    with pytest.warns(RuntimeWarning, match=r"EarlyStopping: val_auc is NaN after epoch 1 .*'auc' over one class"):
        stop.on_epoch_end(0, {"val_auc": float("nan")}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stop.on_epoch_end(1, {"val_auc": float("nan")}, None)
    assert stop.stop_training and stop.best_epoch is None


def test_a_tie_is_won_only_by_more_than_tie_min_delta():
    # (precision, neg log-loss): 1.0 from the first epoch, the loss falling by less and less
    epochs = [(1.0, -0.5), (1.0, -0.1), (1.0, -0.0995), (1.0, -0.098), (1.0, -0.0979)]
    stop = EarlyStopping("val_p", patience=5, restore_best_weights=False, tie_breaker="val_l", tie_min_delta=1e-3)
    plateau = WarmupPlateau(1e-2, 0, "val_p", factor=0.5, patience=1, tie_breaker="val_l", tie_min_delta=1e-3)
    best_epochs, rates = [1, 2, 2, 4, 4], [1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3]
    for epoch, ((p, l), best, rate) in enumerate(zip(epochs, best_epochs, rates)):
        stop.on_epoch_end(epoch, {"val_p": p, "val_l": l}, None)
        plateau.on_epoch_end(epoch, {"val_p": p, "val_l": l})
        assert (stop.best_epoch, plateau(100)) == (best, pytest.approx(rate)), epoch
    assert stop.best_tie == -0.098 and stop.wait == 1
    for owner, make in (("EarlyStopping", lambda: EarlyStopping("val_p", tie_min_delta=-1e-3)),
                        ("WarmupPlateau", lambda: WarmupPlateau(1e-2, 0, "val_p", tie_min_delta="x"))):
        with pytest.raises((ValueError, TypeError), match=f"'tie_min_delta' parameter of {owner}"):
            make()


@pytest.mark.parametrize("min_delta, second, improves", [
    (0.0, 0.6 * (1 - 1e-15), True),   # a metric summed in another order: equal but for rounding
    (0.0, 0.6 * (1 + 1e-15), True),
    (0.0, 0.59, False),              # below: the tie-breaker is not asked
    (0.05, 0.64, True),              # within min_delta above: a tie, the tie-breaker decides
])
def test_a_tie_is_equal_within_rounding_or_min_delta(min_delta, second, improves):
    # restore_best_weights=False: no weights to keep, only the choice of epoch
    stop = EarlyStopping("val_p", patience=5, min_delta=min_delta, restore_best_weights=False, tie_breaker="val_l")
    stop.on_epoch_end(0, {"val_p": 0.6, "val_l": -2.0}, None)
    stop.on_epoch_end(1, {"val_p": second, "val_l": -1.0}, None)
    assert stop.best_epoch == (2 if improves else 1) and stop.best == max(0.6, second if improves else 0.6)
    worse = EarlyStopping("val_p", patience=5, min_delta=min_delta, restore_best_weights=False,
                          tie_breaker="val_l")
    worse.on_epoch_end(0, {"val_p": 0.6, "val_l": -2.0}, None)
    worse.on_epoch_end(1, {"val_p": second, "val_l": -3.0}, None)
    assert worse.best_epoch == 1 and worse.wait == 1
