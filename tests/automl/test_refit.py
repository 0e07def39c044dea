"""Automatic training of a softmax output over text, where the held-out rows are a large
share of the rows, trains the network again on every row for the epochs the held-out rows
kept, replaying each epoch's rate and batch; so does a typed table's binary or numerical
target, for every epoch, keeping the same epochs' mean."""
import warnings

import numpy as np
import pytest

import sparsebolt as sb
import sparsebolt.automl.udt as udt_module
from sparsebolt.automl.udt import REFIT_TABLE_BATCH_GROWTH
from sparsebolt.train import AverageWeights, Replay, WarmupPlateau


def _rows(n=3000, n_classes=20, seed=0):
    """A row's class is its user's favorite (of three words naming the user) two times in
    three, else a random one: a text model learns it from the words."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 60, n)
    favorite = np.random.default_rng(99).integers(0, n_classes, 60)
    labels = np.where(rng.random(n) < 2 / 3, favorite[users], rng.integers(0, n_classes, n))
    return [{"text": f"user{u} group{u % 7} team{u % 11}", "label": f"c{c}"} for u, c in zip(users, labels)]


@pytest.fixture
def trains(monkeypatch):
    """Each Model.train call's rows, epochs and schedule."""
    seen = []
    train = sb.Model.train

    def recording(self, data, *args, **kwargs):
        seen.append((data.n_samples, kwargs.get("epochs"), kwargs.get("learning_rate"), self))
        return train(self, data, *args, **kwargs)

    monkeypatch.setattr(sb.Model, "train", recording)
    return seen


def _udt(**kwargs):
    types = {"text": sb.types.text(), "label": sb.types.categorical()}
    return sb.UniversalDeepTransformer(types, target="label", **kwargs)


def test_a_small_text_set_trains_again_on_every_row_for_the_kept_epochs(trains):
    rows = _rows()
    udt = _udt()
    history = udt.train(rows, verbose=False)
    (held_n, held_epochs, plateau, first), (all_n, epochs, replay, second) = trains
    assert held_n == 2700 and all_n == 3000  # 300 of 3,000 rows held out: a tenth
    assert isinstance(plateau, WarmupPlateau) and isinstance(replay, Replay)
    assert history.best_epoch < len(history.epochs) and epochs == history.refit_epochs == history.best_epoch
    assert replay.settings == plateau.settings[:epochs] and replay.peak == plateau.peak
    assert replay.warmup_steps == plateau.warmup_steps
    # the network kept is the one trained on every row, built anew with the same seed
    assert udt.model is second is not first and second.steps > 0
    assert history.epochs[0]["samples"] == 2700  # the logs are the first training's
    again = _udt()
    again.train(rows, verbose=False)
    for a, b in zip(udt.model.layers, again.model.layers):
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(p.value, q.value)


def test_a_sparse_output_takes_the_prior_its_held_out_rows_chose_before_the_second_training(trains,
                                                                                           monkeypatch):
    # chosen afterwards, the held-out rows would judge a network trained on them
    seen = []
    cls = udt_module.UniversalDeepTransformer
    choose, adjust = cls._prior_weight, cls._adjust_for_prior

    def choosing(self, val, counts, metric):
        chosen = choose(self, val, counts, metric)
        seen.append(("chosen", self.model, counts.copy(), self.model.output.layer.b.value.copy(), chosen))
        return chosen

    def adjusting(self, val, counts, metric, weight=None):
        taken = adjust(self, val, counts, metric, weight)
        seen.append(("taken", self.model, counts.copy(), weight, taken))
        return taken

    monkeypatch.setattr(cls, "_prior_weight", choosing)
    monkeypatch.setattr(cls, "_adjust_for_prior", adjusting)
    monkeypatch.setattr(udt_module, "PRIOR_WEIGHTS", (0.5, 1.0))  # either lifts: one is taken
    rows = _rows()
    udt = _udt(sparsity=0.5)
    history = udt.train(rows, verbose=False)
    (_, _, _, first), (_, epochs, _, second) = trains
    assert udt.model is second and udt.output_sparsity == 0.5 and epochs == history.refit_epochs > 0
    (what, on_first, held_counts, biases, chosen), (taken_, on_second, counts, weight, taken) = seen
    assert what == "chosen" and taken_ == "taken"  # chosen once, taken once: the second is not asked again
    assert on_first is first and chosen in (0.5, 1.0) and held_counts.sum() == 2700
    np.testing.assert_array_equal(first.output.layer.b.value, biases)  # the first network's biases untouched
    assert on_second is second and weight == taken == chosen == history.prior_weight and counts.sum() == 3000
    np.testing.assert_allclose(udt.prior_shift, np.float32(chosen) * np.log1p(counts).astype(np.float32))


def test_a_binary_target_takes_the_calibration_fitted_with_the_first_network(trains, monkeypatch):
    # fitted afterwards, the held-out rows would calibrate a network trained on them
    seen = []
    fit = udt_module.UniversalDeepTransformer._fit_calibration

    def recording(self, val):
        found = fit(self, val)
        seen.append((self.model, found))
        return found

    monkeypatch.setattr(udt_module.UniversalDeepTransformer, "_fit_calibration", recording)
    rows = [dict(r, label=f"c{int(r['label'][1:]) % 2}") for r in _rows()]
    udt = _udt()
    history = udt.train(rows, verbose=False)
    (held_n, _, _, first), (all_n, epochs, _, second) = trains
    assert held_n < all_n == 3000 and udt.model is second and epochs == history.refit_epochs > 0
    ((on, (a, c)),) = seen
    assert on is first and a > 0 and udt.calibration == (a, 0.0)


@pytest.mark.parametrize("failure", ["interrupt", "error", "diverged"])
def test_the_first_network_stays_when_the_second_training_is_interrupted_fails_or_diverges(trains, monkeypatch,
                                                                                           failure):
    step = sb.Model.train_step

    def failing(self, batch, learning_rate):
        if len(trains) == 2 and self.steps == 5:  # 5 steps into the second training
            if failure == "interrupt":
                raise KeyboardInterrupt
            if failure == "error":
                raise MemoryError("both networks")
            self.output.layer.W.value[0, 0] = np.nan
        return step(self, batch, learning_rate)

    monkeypatch.setattr(sb.Model, "train_step", failing)
    monkeypatch.setattr(udt_module, "PRIOR_WEIGHTS", (0.5, 1.0))
    # the input table the first network trained (as the prior weight is chosen, just before the
    # second training), which its untrained copy shares: put back as it was
    cls, trained_table = udt_module.UniversalDeepTransformer, []
    prior_weight = cls._prior_weight

    def keeping(self, *args):
        trained_table.append(self.model.layer("embedding").E.value.copy())
        return prior_weight(self, *args)

    monkeypatch.setattr(cls, "_prior_weight", keeping)
    udt = _udt(sparsity=0.5)
    finished = []
    mean_embedding = udt_module.UniversalDeepTransformer._mean_embedding
    monkeypatch.setattr(udt_module.UniversalDeepTransformer, "_mean_embedding",
                        lambda self, data: finished.append(data.n_samples) or mean_embedding(self, data))
    if failure == "interrupt":  # raised once the first network is finished as a failure leaves it
        with pytest.raises(KeyboardInterrupt):
            udt.train(_rows(), verbose=False)
    else:
        with pytest.warns(RuntimeWarning, match="training again on every row failed") as warned:
            history = udt.train(_rows(), verbose=False)
        assert warned[0].filename == __file__  # the caller's line
        assert ("MemoryError: both networks" if failure == "error" else "not all finite") in str(warned[0].message)
        assert history.refit_epochs == 0
    assert np.isfinite(udt.model.output.layer.W.value).all() and finished == [2700]
    np.testing.assert_array_equal(udt.model.layer("embedding").E.value, trained_table[0])
    assert udt._refit_rows is None  # nothing trained on the rows it held out
    # the weight chosen before (one of the two), once, for the rows the first network trained on
    counts = [np.expm1(udt.prior_shift.astype(np.float64) / w) for w in (0.5, 1.0)]
    assert any(np.allclose(c, np.round(c), atol=0.05) and np.round(c).sum() == 2700 for c in counts)
    assert udt.center is not None and udt.model is trains[0][3] and udt.trained


@pytest.mark.parametrize("case", ["text_sparse", "table"])
def test_the_second_training_starts_from_a_copy_equal_to_a_network_built_anew(case, monkeypatch):
    # the copy made before the first training, against the same seed's build drawn again:
    # the same trained weights and hash tables, and nothing shared with the first network but
    # the input table, whose rows the data can move it keeps aside
    cls, refit = udt_module.UniversalDeepTransformer, udt_module.UniversalDeepTransformer._refit
    copies = []

    def built_anew(self, history, data, plateau, untrained, verbose, label_augmentation):
        first = self.model
        copies.append((untrained, first))
        self._build(getattr(first.layer("embedding"), "sigma", udt_module.MAX_SIGMA))
        fresh, self.model = self.model, first
        return refit(self, history, data, plateau, (fresh, udt_module._SharedRows([])), verbose,
                     label_augmentation)

    def trained(anew):
        if anew:
            monkeypatch.setattr(cls, "_refit", built_anew)
        types, rows = _table()
        udt = sb.UniversalDeepTransformer(types, target="y") if case == "table" else _udt(sparsity=0.5)
        udt.train(rows if case == "table" else _rows(), verbose=False)
        monkeypatch.setattr(cls, "_refit", refit)
        return udt

    copied, anew = trained(False), trained(True)
    assert copied.trained and anew.trained and len(copies) == 1
    for p, q in zip(copied.model.parameters(), anew.model.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    if case == "text_sparse":
        (a, b) = (u.model.output.layer.index.get_state()[1] for u in (copied, anew))
        assert all(np.array_equal(a[k], b[k]) for k in a)
        (copy, _), first = copies[0]  # the copy this path left untrained, and the first network
        assert copy.output.layer.index is not first.output.layer.index
        shared = {(p.name, q.name) for p in copy.parameters() for q in first.parameters()
                  if np.shares_memory(p.value, q.value)}
        assert shared == {("embedding/E", "embedding/E")}


def _table(n=3000, numerical=False, seed=0, classes=False):
    """Typed columns alone: a number and a category decide the target (a number, two classes
    or three), with noise."""
    rng = np.random.default_rng(seed)
    x, k = rng.normal(size=n), rng.integers(0, 8, n)
    score = x + (k % 3) - 1 + rng.normal(scale=0.5, size=n)
    y = score if numerical else np.where(score > 0.5, "high", np.where(score > -0.5, "mid", "low")) if classes \
        else np.where(score > 0, "yes", "no")
    types = {"x": sb.types.numerical(), "k": sb.types.categorical(),
             "y": sb.types.numerical() if numerical else sb.types.categorical()}
    return types, [{"x": float(a), "k": f"k{b}", "y": c} for a, b, c in zip(x, k, y)]


@pytest.mark.parametrize("target, n", [("binary", 3000), ("binary", 9000), ("classes", 3000), ("numerical", 3000)])
def test_a_typed_table_trains_again_for_every_epoch_and_keeps_the_same_epochs_mean(target, n, monkeypatch):
    seen = []
    train = sb.Model.train

    def recording(self, data, *args, **kwargs):
        seen.append((data.n_samples, kwargs, self))
        return train(self, data, *args, **kwargs)

    monkeypatch.setattr(sb.Model, "train", recording)
    types, rows = _table(n, numerical=target == "numerical", classes=target == "classes")
    udt = sb.UniversalDeepTransformer(types, target="y")
    history = udt.train(rows, verbose=False)
    assert udt.n_classes == {"binary": 2, "classes": 3}.get(target, udt.n_classes)
    (held_n, first_kwargs, first), (all_n, kwargs, second) = seen
    # a fifth of a binary or numerical table held out (it trains again on every row), up to
    # 1,000 rows; a tenth of more classes
    held = n - 300 if target == "classes" else n - min(n // 5, 1000)
    assert held_n == held and all_n == n and udt.model is second is not first
    # the first training's weights are the mean of its kept epoch and the later ones: so are these
    assert 1 < history.averaged_epochs == len(history.epochs) - history.best_epoch + 1
    assert kwargs["epochs"] == history.refit_epochs == len(history.epochs)
    plateau, replay = first_kwargs["learning_rate"], kwargs["learning_rate"]
    settings = plateau.settings[:len(history.epochs)]
    # a small binary table's second training takes steps of twice the rows at 1.41 times the
    # rate (its steps cost little but their launch); from 8,192 rows it replays them as they were
    k = REFIT_TABLE_BATCH_GROWTH if target == "binary" and n < 8192 else 1
    assert isinstance(replay, Replay) and replay.settings == [(scale, k * growth) for scale, growth in settings]
    assert replay.peak == plateau.peak * k ** 0.5 and replay.warmup_steps == plateau.warmup_steps // k
    (mean,) = kwargs["callbacks"]
    assert isinstance(mean, AverageWeights) and mean.start == history.best_epoch
    assert mean.averaged_epochs == history.averaged_epochs
    again = sb.UniversalDeepTransformer(types, target="y")
    again.train(rows, verbose=False)
    for p, q in zip(udt.model.parameters(), again.model.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_a_later_train_that_holds_out_rows_the_network_trained_on_warns(tmp_path):
    types, rows = _table()
    udt = sb.UniversalDeepTransformer(types, target="y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the first train holds out rows nothing trained on
        assert udt.train(rows, verbose=False).refit_epochs > 0
    with pytest.warns(RuntimeWarning, match="these are the rows the last train held out and then trained on too") \
            as warned:
        udt.train(rows, verbose=False)
    assert warned[0].filename == __file__  # the caller's line
    udt.save(tmp_path / "m.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")
    with pytest.warns(RuntimeWarning, match="held out and then trained on too"):
        loaded.train(rows, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # new rows, or validation rows given: nothing to say
        loaded.train(_table(seed=1)[1], verbose=False)
        loaded.train(rows, validation=_table(300, seed=2)[1], verbose=False)


@pytest.mark.parametrize("value", [123, "xyz", "A" * 32, ["0" * 32]])
def test_a_damaged_digest_of_the_rows_trained_on_is_a_damaged_file(tmp_path, value):
    from sparsebolt.io import ModelFileError

    from ..io.helpers import rewrite
    types, rows = _table(1000)
    udt = sb.UniversalDeepTransformer(types, target="y")
    udt.train(rows, verbose=False)
    udt.save(tmp_path / "good.sbm")

    def edit(manifest):
        assert len(manifest["automl"]["refit_rows"]) == 32
        manifest["automl"]["refit_rows"] = value
        return manifest

    rewrite(tmp_path / "good.sbm", tmp_path / "bad.sbm", edit)
    with pytest.raises(ModelFileError, match=r"bad.sbm: member 'manifest.json' says refit_rows=.*; expected 32 "
                                             r"hexadecimal digits"):
        sb.UniversalDeepTransformer.load(tmp_path / "bad.sbm")


def test_verbose_training_announces_the_second_training(capsys):
    types, rows = _table(1000)
    history = sb.UniversalDeepTransformer(types, target="y").train(rows, verbose=True)
    line = (f"training again on every row (1,000 rows, the held-out ones too) for {history.refit_epochs} epochs, "
            f"keeping the mean of epochs {history.best_epoch}-{history.refit_epochs}")
    assert history.refit_epochs and line in capsys.readouterr().out


def test_an_interrupted_second_training_leaves_the_first_network_finished(monkeypatch):
    # calibrated, with its mean embedding and background, before the interrupt goes on up
    step, models = sb.Model.train_step, []

    def interrupted(self, batch, learning_rate):
        if self not in models:
            models.append(self)
        if len(models) == 2 and self.steps == 5:
            raise KeyboardInterrupt
        return step(self, batch, learning_rate)

    monkeypatch.setattr(sb.Model, "train_step", interrupted)
    types, rows = _table()
    udt = sb.UniversalDeepTransformer(types, target="y")
    with pytest.raises(KeyboardInterrupt):
        udt.train(rows, verbose=False)
    a, c = udt.calibration
    assert udt.model is models[0] and a > 0 and c == 0.0 and (a, c) != (1.0, 0.0)
    assert udt.center is not None and udt.background is not None and udt.trained


@pytest.mark.parametrize("case", ["share", "rows", "validation", "epochs", "streamed", "callbacks", "labels",
                                  "trained", "temporal", "table_rows", "sparse_table"])
def test_no_second_training_elsewhere(case, trains, monkeypatch, tmp_path):
    rows = _rows()
    kwargs, udt = {}, _udt()
    if case == "share":  # a tenth held out, under a share of a fifth
        monkeypatch.setattr(udt_module, "REFIT_HELD_OUT_SHARE", 0.2)
    elif case == "rows":  # more rows than measured
        monkeypatch.setattr(udt_module, "REFIT_MAX_ROWS", 2999)
    elif case == "validation":
        kwargs["validation"] = _rows(500, seed=1)
    elif case == "epochs":
        kwargs["epochs"] = 3
    elif case == "streamed":
        path = tmp_path / "rows.csv"
        path.write_text("text,label\n" + "".join(f"{r['text']},{r['label']}\n" for r in rows))
        rows, kwargs["max_in_memory_rows"] = path, 1000
    elif case == "callbacks":
        kwargs["callbacks"] = [sb.Callback()]
    elif case == "labels":  # a typed table of label sets (a delimited target): not measured
        rows = [dict(r, label=f"{r['label']} c{i % 3}") for i, r in enumerate(rows)]
        udt = sb.UniversalDeepTransformer({"text": sb.types.categorical(),
                                           "label": sb.types.categorical(delimiter=" ")}, target="label")
    elif case == "sparse_table":  # a typed table of a sparse output (450 classes or more): not measured
        rows = [dict(r, label=f"c{i % 500}") for i, r in enumerate(rows)]
        udt = sb.UniversalDeepTransformer({"text": sb.types.categorical(), "label": sb.types.categorical()},
                                          target="label")
    elif case == "table_rows":  # a binary table of more rows than measured
        monkeypatch.setattr(udt_module, "REFIT_MAX_TABLE_ROWS", 2999)
        types, rows = _table()
        udt = sb.UniversalDeepTransformer(types, target="y")
    elif case == "temporal":  # the held-out rows are the latest, a tenth up to 10,000: not measured
        rows = [dict(r, day=f"2020-{1 + i * 12 // 3000:02d}-{1 + i % 28:02d}", user=f"u{i % 50}",
                     shop=f"s{i % 13}") for i, r in enumerate(rows)]
        udt = sb.UniversalDeepTransformer({"text": sb.types.text(), "day": sb.types.date(),
                                           "user": sb.types.categorical(), "shop": sb.types.categorical(),
                                           "label": sb.types.categorical()}, target="label",
                                          temporal_tracking={"user": ["shop"]})
    elif case == "trained":  # a second automatic train goes on from the trained network
        udt.train(rows, verbose=False)
        trains.clear()
    if case == "trained":  # whose held-out rows it trained on
        with pytest.warns(RuntimeWarning, match="held out and then trained on too"):
            history = udt.train(rows, verbose=False, **kwargs)
    else:
        history = udt.train(rows, verbose=False, **kwargs)
    assert len(trains) == 1 and history.refit_epochs == 0


@pytest.mark.parametrize("target, n, kwargs, held", [
    ("binary", 3000, {}, 600), ("binary", 8000, {}, 1000), ("binary", 12000, {}, 1200),
    ("number", 3000, {}, 600), ("classes", 3000, {}, 300),
    ("binary", 3000, {"learning_rate": 1e-3}, 300), ("binary", 3000, {"callbacks": [sb.Callback()]}, 300)])
def test_a_typed_table_that_trains_again_holds_out_a_fifth_up_to_1000_rows(trains, target, n, kwargs, held):
    # the held-out rows only choose the epochs where every row is trained on next: more of
    # them choose by less chance (a tenth elsewhere, and more than 1,000 where a tenth is)
    rng = np.random.default_rng(0)
    x = rng.random(n)
    y = {"binary": (x > 0.5).astype(int).astype(str), "number": x * 10,
         "classes": (x * 3).astype(int).astype(str)}[target]
    rows = [{"x": float(a), "c": f"k{i % 5}", "y": b if target == "number" else str(b)}
            for i, (a, b) in enumerate(zip(x, y))]
    kind = sb.types.numerical() if target == "number" else sb.types.categorical()
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "c": sb.types.categorical(), "y": kind}, target="y")
    udt.train(rows, verbose=False, **kwargs)
    assert trains[0][0] == n - held


@pytest.mark.parametrize("kwargs", [{}, {"learning_rate": 1e-3}, {"callbacks": [sb.Callback()]}])
def test_a_later_train_on_the_rows_trained_on_warns_whatever_share_it_holds_out(trains, kwargs):
    # the digest was of the held-out rows: a later train holding out a tenth (a rate or
    # callbacks given) where the first had held out a fifth went unwarned; and a trained
    # network holds out a tenth, no fifth, since no second training follows
    rng = np.random.default_rng(0)
    x = rng.random(3000)
    rows = [{"x": float(a), "c": f"k{i % 5}", "y": str(int(a > 0.5))} for i, a in enumerate(x)]
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "c": sb.types.categorical(),
                                       "y": sb.types.categorical()}, target="y")
    udt.train(rows, verbose=False)
    trains.clear()
    with pytest.warns(RuntimeWarning, match="these are the rows the last train held out and then trained on too"):
        history = udt.train(rows, verbose=False, **kwargs)
    assert trains[0][0] == 2700 and history.refit_epochs == 0
