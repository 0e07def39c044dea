"""Learning-rate schedules in the training loop, and when a monitored value improves (the
rule schedules and EarlyStopping share)."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.train import Constant, EarlyStopping, Replay, WarmupDecay, WarmupPlateau

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
    with pytest.raises(ValueError, match=r"^The 'data' parameter of train must have a 'batch_size' to set .* "
                                         r"\(max_batch_growth=2\)\. Got list instead"):
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

    with pytest.raises(ValueError, match=r"^The 'data' parameter of train must have a 'batch_size' to set \(an "
                                         r"sb.data.SparseDataset\) when the schedule may grow the batch size "
                                         r"\(max_batch_growth=2\)\. Got ReadOnly instead \(or give the schedule "
                                         r"max_batch_growth=1\)\.$"):
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
