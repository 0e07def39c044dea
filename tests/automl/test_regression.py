"""A numerical target: regression through cumulative bins, end to end (train with and
without arguments, evaluate MAE and RMSE, predict values, explain, save and load; files
saved with a softmax over the bins)."""
import warnings

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.automl.featurize import cumulative_labels
from sparsebolt.data.batch import Batch, csr_value
from sparsebolt.io import ModelFileError

from ..io.helpers import rewrite
from .test_udt import SMALL


def _rows(rng, n):
    rows = []
    for _ in range(n):
        size = rng.choice(["S", "M", "L"])
        x = float(rng.uniform(0, 10))
        y = 3.0 * x + {"S": 0.0, "M": 20.0, "L": 40.0}[size] + rng.normal(0, 1.0)
        rows.append({"x": x, "size": size, "noise": str(rng.integers(100)), "y": y})
    return rows


def _regressor():
    """An untrained UDT of ``_rows``' columns, the target with its default bins."""
    return sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                        "noise": sb.types.categorical(), "y": sb.types.numerical()},
                                       target="y", **SMALL)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    train, test = _rows(rng, 3000), _rows(rng, 500)
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                       "noise": sb.types.categorical(), "y": sb.types.numerical(bins=60)},
                                      target="y", **SMALL)
    udt.train(train, batch_size=64, max_epochs=15, verbose=False)  # no epochs or rate: held-out MAE stops it
    return udt, train, test


def test_a_numerical_target_is_predicted_well_below_the_spread(fitted, tmp_path):
    udt, train, test = fitted
    assert udt.regression and udt.n_classes > 30
    got = udt.evaluate(test)
    spread = float(np.std([r["y"] for r in test]))          # about 17; a constant guess has this RMSE
    assert set(got) == {"mae", "rmse"} and got["rmse"] < 0.15 * spread and got["mae"] <= got["rmse"]
    row = {"x": 5.0, "size": "L", "noise": "7"}
    value, score = udt.predict(row)[0]
    assert abs(value - 55.0) < 3.0 and score is None
    # the size moves the value most, then x; the noise column barely (a size of M would not:
    # without its size a row is predicted near the sizes' average, which M is)
    explained = {c: v for c, _, v in udt.explain(row)}
    assert abs(explained["size"]) > abs(explained["noise"]) and abs(explained["x"]) > abs(explained["noise"])
    for named in (["precision@1"], ["categorical_accuracy"]):   # the second had given mae and rmse unasked
        with pytest.raises(ValueError, match="'mae' or 'rmse'"):
            udt.evaluate(test, metrics=named)
    assert udt.evaluate(test, metrics="mae") == {"mae": got["mae"]}   # one name, not its letters
    # checked as for a class target: these had been taken, [] giving {}
    with pytest.raises(ValueError, match=r"The 'metrics' parameter of evaluate must be at least one metric\. Got \[\]"):
        udt.evaluate(test, metrics=[])
    for bad in (0, "lots"):
        with pytest.raises(ValueError, match=rf"The 'batch_size' parameter of evaluate must be an int >= 1\. "
                                             rf"Got {bad!r} instead\."):
            udt.evaluate(test, batch_size=bad)
    with pytest.raises(ValueError, match="predict_proba is for a binary target"):
        udt.predict_proba(test[:2])
    udt.save(tmp_path / "reg.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "reg.sbm")
    assert loaded.predict_batch(test[:20]) == udt.predict_batch(test[:20])


def test_a_missing_or_non_numeric_target_names_the_row(fitted):
    udt, _, test = fitted
    with pytest.raises(ValueError, match="row 2.*needs a finite number.*'high'"):
        udt.evaluate([test[0], test[1], {**test[2], "y": "high"}])


def test_a_binary_target_gets_a_probability_calibrated_on_the_held_out_rows(tmp_path):
    # the label is a coin flip with probability 0.8 or 0.2 by the row's first word; early
    # stopping on AUC stops while the raw probabilities are still timid (about 0.55 / 0.47)
    rng = np.random.default_rng(5)

    def rows(n):
        out = []
        for _ in range(n):
            hot = rng.random() < 0.5
            out.append({"text": f"{'hot' if hot else 'cold'} w{rng.integers(50)}",
                        "y": "yes" if rng.random() < (0.8 if hot else 0.2) else "no"})
        return out

    udt = sb.UniversalDeepTransformer({"text": sb.types.text(tokenizer="words"), "y": sb.types.categorical()},
                                      target="y", **SMALL)
    # 256 rows a step (not the fewer a set this small gets by default): steps few enough that
    # the raw probabilities stay timid
    udt.train(rows(4000), max_epochs=6, batch_size=256, verbose=False)
    test = rows(2000)
    y = np.array([r["y"] == udt.featurizer.labels.name(1) for r in test])
    hot = np.array([r["text"].startswith("hot") == (udt.featurizer.labels.name(1) == "yes") for r in test])

    def log_loss(p):
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    calibrated = udt.predict_proba(test)
    fitted, udt.calibration = udt.calibration, (1.0, 0.0)
    raw = udt.predict_proba(test)
    udt.calibration = fitted
    assert log_loss(calibrated) < log_loss(raw) - 0.05
    assert calibrated[hot].mean() > 0.65 and calibrated[~hot].mean() < 0.35
    # evaluate reports the log-loss of these probabilities, not of the raw outputs
    assert udt.evaluate(test, metrics=["neg_log_loss"])["neg_log_loss"] == pytest.approx(-log_loss(calibrated), rel=1e-5)
    udt.save(tmp_path / "b.sbm")
    np.testing.assert_array_equal(sb.UniversalDeepTransformer.load(tmp_path / "b.sbm").predict_proba(test), calibrated)


def test_a_binary_target_decides_by_its_calibrated_probability():
    # one class three times as common: the raw outputs of the epoch that ranks best still
    # favour it past where its calibrated probability does
    rng = np.random.default_rng(7)

    def rows(n):
        out = []
        for _ in range(n):
            w = int(rng.integers(40))
            out.append({"text": f"w{w} w{rng.integers(40, 400)}", "y": "yes" if rng.random() < 0.1 + w / 50 else "no"})
        return out

    udt = sb.UniversalDeepTransformer({"text": sb.types.text(tokenizer="words"), "y": sb.types.categorical()},
                                      target="y", **SMALL)
    udt.train(rows(4000), max_epochs=6, verbose=False)
    test = rows(2000)
    second = udt.predict_proba(test) > 0.5
    decided = np.array([p[0][0] == udt.featurizer.labels.name(1) for p in udt.predict_batch(test, top_k=1)])
    assert 0.05 < second.mean() < 0.95
    np.testing.assert_array_equal(decided, second)
    assert udt.calibration[1] == 0.0
    both = udt.predict_batch(test[:50], top_k=2)
    assert all(len(r) == 2 and r[0][1] >= r[1][1] and r[0][1] + r[1][1] == pytest.approx(1.0) for r in both)


def test_a_calibrated_binary_prediction_runs_the_network_once(monkeypatch):
    rng = np.random.default_rng(3)
    rows = [{"color": str(c), "x": float(x), "y": "yes" if x > 0 else "no"}
            for c, x in zip(rng.choice(["red", "green", "blue"], 400), rng.normal(size=400))]
    udt = sb.UniversalDeepTransformer({"color": sb.types.categorical(), "x": sb.types.numerical(),
                                       "y": sb.types.categorical()}, target="y", **SMALL)
    udt.train(rows, verbose=False)
    assert udt.calibration != (1.0, 0.0)
    want = udt.predict_batch(rows[:40], top_k=2)
    calls = []
    monkeypatch.setattr(udt.model, "forward", lambda *a, **k: calls.append(1) or type(udt.model).forward(udt.model, *a, **k))
    assert udt.predict_batch(rows[:40], top_k=2) == want
    assert len(calls) == 1
    # a shift outside the output bias (a file saved before it moved there): the order stays
    # the logits', as evaluate and serving rank, each class with its calibrated probability
    udt.calibration = (udt.calibration[0], 3.0)
    second = udt.predict_proba(rows[:40])
    raw = udt.model.predict(next(udt._dataset(rows[:40], "eval", 64).ordered()), top_k=1)[0][:, 0]
    got = udt.predict_batch(rows[:40], top_k=1)
    assert [label for ((label, _),) in got] == [udt.featurizer.labels.name(int(i)) for i in raw]
    assert [s if label == "yes" else 1 - s for ((label, s),) in got] == pytest.approx(second)


@pytest.mark.parametrize("seed, positives", [(0, 2), (1, 5), (0, 150)])
def test_a_calibration_never_turns_the_ranking_over_nor_saturates(seed, positives):
    # a rare class or labels the inputs barely tell: a held-out slice of 30 rows may rank
    # against the model or hold one positive (of two: each class keeps its share of the
    # held-out rows), where an unsmoothed fit gave a slope of -194 (every probability 1.0)
    # or of 8,500 (every probability 0)
    rng = np.random.default_rng(seed)
    n = 300
    y = np.full(n, "no", dtype=object)
    y[rng.choice(n, positives, replace=False)] = "yes"
    rows = [{"color": str(c), "x": float(x), "y": str(v)}
            for c, x, v in zip(rng.choice(["red", "green", "blue", "black"], n), rng.normal(size=n), y)]
    udt = sb.UniversalDeepTransformer({"color": sb.types.categorical(), "x": sb.types.numerical(),
                                       "y": sb.types.categorical()}, target="y", **SMALL)
    udt.train(rows, verbose=False)
    a, _ = udt.calibration
    p = udt.predict_proba(rows)
    assert a > 0 and 1e-4 < p.min() and p.max() < 1 - 1e-4
    # predict's scores are the same calibrated probabilities, of the class it names
    second = udt.featurizer.labels.name(1)
    scores = [s if label == second else 1 - s for ((label, s),) in udt.predict_batch(rows)]
    np.testing.assert_allclose(scores, p, rtol=1e-6)


def test_a_target_gets_10_bins_by_default_and_its_given_count_otherwise():
    rows = [{c: v for c, v in r.items() if c != "noise"} for r in _rows(np.random.default_rng(1), 400)]
    counts = {}
    for bins in (None, 30):
        udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                           "y": sb.types.numerical(bins=bins)}, target="y", **SMALL)
        udt.train(rows, epochs=1, verbose=False)
        counts[bins] = udt.n_classes
    # the 10- (30-) quantiles of the values and of the distinct values: 10 to 19 (30 to 59) bins
    assert 10 <= counts[None] <= 19 and 30 <= counts[30] <= 59
    assert sb.types.numerical().n_bins(1000) == 15 and sb.types.numerical().n_bins(target=True) == 10


def test_a_numerical_target_learns_from_its_exact_values_means(tmp_path):
    # a household's income (a random value each) names which half of the range its target is
    # in; a new row of a known household is told by the mean of its household's training
    # rows, which the smooth function of a number cannot tell apart
    rng = np.random.default_rng(9)
    income = rng.uniform(1000, 2000, 400).round(2)
    half = rng.integers(0, 2, 400)

    def rows(each):
        return [{"income": income[k], "x": float(rng.normal()), "y": float(half[k] * 10 + rng.normal())}
                for k in range(400) for _ in range(each)]

    train, test = rows(4), rows(1)
    mae = {}
    for exact in (False, "auto"):
        udt = sb.UniversalDeepTransformer({"income": sb.types.numerical(exact=exact), "x": sb.types.numerical(),
                                           "y": sb.types.numerical()}, target="y", **SMALL)
        udt.train(train, verbose=False)
        mae[exact] = udt.evaluate(test, metrics=["mae"])["mae"]
    assert mae[False] > 3.5 and mae["auto"] < 1.5
    # the means average the rows' own values, out to the lowest and highest, beyond the end
    # bins' means: a saved model's counts and sums are checked against those
    feat = udt.featurizer
    assert feat.stat_columns() == ["income"]
    assert feat.target_range() == (min(r["y"] for r in train), max(r["y"] for r in train))
    assert feat.target_range()[1] > feat.labels.centers[-1]
    udt.save(tmp_path / "household.sbm")
    assert sb.UniversalDeepTransformer.load(tmp_path / "household.sbm").predict_batch(test[:50]) == \
        udt.predict_batch(test[:50])


def test_cumulative_labels_give_back_each_value_and_its_bin():
    rng = np.random.default_rng(5)
    bounds = np.array([0.0, 1.0, 1.0, 2.5, 4.0, 10.0])           # a bin of no width, as a heavy value makes
    x = np.concatenate([rng.uniform(-2.0, 12.0, 500), bounds, [1.0, 1.0]])
    bins = np.searchsorted(bounds[1:-1], x, side="right")
    labels = cumulative_labels(bounds, x, bins)
    rows = np.repeat(np.arange(len(x)), np.diff(labels.offsets))
    width = np.diff(bounds)
    value = bounds[0] + np.bincount(rows, weights=labels.vals * width[labels.ids], minlength=len(x))
    np.testing.assert_allclose(value, np.clip(x, bounds[0], bounds[-1]), atol=1e-5)
    assert (labels.ids[labels.offsets[1:] - 1] == bins).all()      # a row's last label is its bin
    for r in range(len(x)):                                       # 1 below its bin, a fraction in it
        ids, vals = labels.ids[labels.offsets[r]:labels.offsets[r + 1]], labels.vals[labels.offsets[r]:labels.offsets[r + 1]]
        assert list(ids) == list(range(bins[r] + 1)) and (vals[:-1] == 1.0).all() and 0.0 <= vals[-1] <= 1.0


def test_a_model_saved_with_a_softmax_over_bins_loads_and_predicts_as_it_did(tmp_path):
    # files written before cumulative labels hold no encoding: a softmax over the bins
    rng = np.random.default_rng(2)
    rows = _rows(rng, 600)
    types = {"x": sb.types.numerical(), "size": sb.types.categorical(), "noise": sb.types.categorical(),
             "y": sb.types.numerical()}
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.featurizer.labels.encoding = "bins"
    udt.train(rows, epochs=2, verbose=False)
    assert udt.model.output.layer.activation == "softmax" and not udt._cumulative
    udt.save(tmp_path / "new.sbm")

    def before_cumulative(manifest):
        labels = manifest["automl"]["config"]["featurizer"]["labels"]
        del labels["encoding"], labels["bounds"]
        return manifest

    rewrite(tmp_path / "new.sbm", tmp_path / "old.sbm", before_cumulative)
    old = sb.UniversalDeepTransformer.load(tmp_path / "old.sbm")
    assert old.featurizer.labels.encoding == "bins" and old.featurizer.labels.bounds is None
    assert old.predict_batch(rows[:30]) == udt.predict_batch(rows[:30])
    offsets, ids, vals, _, _ = old.featurizer.transform(next(old._chunks(rows[:30], with_target=False)), "predict")
    x = csr_value(old.input_dim, offsets, ids, vals)
    p = old.model.output_values(Batch((x,))).to_dense().astype(np.float64)
    expected = p @ old.featurizer.labels.centers / p.sum(axis=1)
    np.testing.assert_allclose([v for ((v, _),) in old.predict_batch(rows[:30])], expected, rtol=1e-9)
    assert old.evaluate(rows) == udt.evaluate(rows)
    old.save(tmp_path / "again.sbm")                       # and saved again, as it was
    again = sb.UniversalDeepTransformer.load(tmp_path / "again.sbm")
    assert again.featurizer.labels.encoding == "bins" and again.predict_batch(rows[:30]) == udt.predict_batch(rows[:30])
    assert "bounds" not in again.get_config()["featurizer"]["labels"]


@pytest.mark.parametrize("change, message", [
    (lambda labels: labels.update(encoding="ordinal"), "encoding must be one of"),
    (lambda labels: labels.update(bounds=labels["bounds"][::-1]), "bounds must be finite and increasing"),
    (lambda labels: labels.update(bounds=labels["bounds"][:-1]), "bounds must be finite and increasing"),
    (lambda labels: labels.pop("bounds"), "bounds must be finite and increasing"),
])
def test_a_file_with_bad_cumulative_bins_is_refused(tmp_path, change, message):
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                       "noise": sb.types.categorical(), "y": sb.types.numerical()}, target="y", **SMALL)
    udt.train(_rows(np.random.default_rng(4), 300), epochs=1, verbose=False)
    udt.save(tmp_path / "m.sbm")

    def bad(manifest):
        change(manifest["automl"]["config"]["featurizer"]["labels"])
        return manifest

    rewrite(tmp_path / "m.sbm", tmp_path / "bad.sbm", bad)
    with pytest.raises(ModelFileError, match=message):
        sb.UniversalDeepTransformer.load(tmp_path / "bad.sbm")


def test_cumulative_bins_under_a_softmax_network_are_refused(tmp_path):
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                       "noise": sb.types.categorical(), "y": sb.types.numerical()}, target="y", **SMALL)
    udt.featurizer.labels.encoding = "bins"
    udt.train(_rows(np.random.default_rng(4), 300), epochs=1, verbose=False)
    udt.save(tmp_path / "m.sbm")

    def relabelled(manifest):
        labels = manifest["automl"]["config"]["featurizer"]["labels"]
        labels["encoding"] = "cumulative"
        return manifest

    rewrite(tmp_path / "m.sbm", tmp_path / "bad.sbm", relabelled)
    with pytest.raises(ModelFileError, match="cumulative bins need a sigmoid output, its network has 'softmax'"):
        sb.UniversalDeepTransformer.load(tmp_path / "bad.sbm")


def test_training_values_outside_the_first_range_are_warned_of():
    # the bins, lowest and highest value come from the first training rows: later values
    # beyond them are learned as the nearest end, which a held-out error cannot show
    rows = _rows(np.random.default_rng(6), 400)
    udt = _regressor()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        udt.train(rows, epochs=1, verbose=False)
        udt.train(rows[:100], epochs=1, verbose=False)              # within the range: no warning
    shifted = [dict(r, y=r["y"] + 100.0) for r in rows[:50]]
    with pytest.warns(UserWarning, match=r"rows: 50 of 50 training values of the target column 'y' lie "
                                         r"outside \[.*\], the range of the first training rows"):
        udt.train(shifted, epochs=1, verbose=False)


def test_training_values_outside_a_given_range_are_warned_of_once_naming_it():
    rows = [{"x": float(i % 7), "y": float(i % 11) * 3} for i in range(300)]
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "y": sb.types.numerical(range=(0, 20))},
                                      target="y", **SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        udt.train(rows, epochs=1, verbose=False)
    said = [str(w.message) for w in caught if "lie outside" in str(w.message)]
    assert len(said) == 1 and "of 300 training values" in said[0] and "the range its type gives" in said[0]


def test_the_errors_of_huge_targets_stay_finite():
    rng = np.random.default_rng(8)
    rows = [{"x": float(x), "y": float(x) * 1e200} for x in rng.uniform(1, 2, 300)]
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "y": sb.types.numerical()}, target="y", **SMALL)
    udt.train(rows, epochs=2, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = udt.evaluate(rows)
    predicted = np.array([v for ((v, _),) in udt.predict_batch(rows)])
    errors = (predicted - np.array([r["y"] for r in rows])) / 1e200
    assert got["mae"] / 1e200 == pytest.approx(np.abs(errors).mean(), rel=1e-9)
    assert got["rmse"] / 1e200 == pytest.approx(np.sqrt((errors ** 2).mean()), rel=1e-9)


@pytest.mark.parametrize("spread", [0.3, 3.0, 1e3, 3e4])
def test_platt_scaling_finds_the_minimum_of_its_loss(spread):
    # against scipy's minimiser of the same loss; margins in the thousands (saturated
    # outputs) once stopped after a slope of 0.046 where the minimum is at 0.003
    from scipy.optimize import minimize

    from sparsebolt.automl.udt import _platt

    rng = np.random.default_rng(int(spread))
    for sign in (1.0, -1.0):  # margins that rank with the labels, and against them
        m = rng.normal(size=60) * spread
        t = np.where(rng.random(60) < 1 / (1 + np.exp(-sign * m / spread)), 0.9, 0.05)
        ridge = 1e-3 * len(m)

        def loss(theta):
            z = theta[0] * m + theta[1]
            return (np.logaddexp(0.0, z) - t * z).sum() + 0.5 * ridge * ((theta[0] - 1.0) ** 2 + theta[1] ** 2)

        a, c = _platt(m, t, fit_slope=True)
        best = minimize(loss, [1.0 / spread, 0.0], method="Nelder-Mead",
                        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000})
        assert loss([a, c]) <= best.fun + 1e-6 * abs(best.fun)
        assert np.sign(a) == sign
        c_alone = _platt(m, t, fit_slope=False)
        assert c_alone[0] == 1.0 and loss(c_alone) <= loss([1.0, 0.0])


def test_cumulative_bins_are_scored_whole_under_sparse_inference_and_explained_by_their_value():
    # a bin the tables do not retrieve would drop its whole width from the sum (MAE 0.8 -> 27)
    rng = np.random.default_rng(3)
    train, test = _rows(rng, 2000), _rows(rng, 200)
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                       "noise": sb.types.categorical(), "y": sb.types.numerical(bins=60)},
                                      target="y", sparsity=0.2, **SMALL)
    udt.train(train, batch_size=64, max_epochs=8, verbose=False)
    assert udt.model.output.layer.sparsity < 1.0   # readied for sparse inference
    assert udt.predict_batch(test, sparse_inference=True) == udt.predict_batch(test)
    assert udt.evaluate(test, sparse_inference=True) == udt.evaluate(test)
    # an explanation is the change of the predicted value with the column's training values in its place
    row = {"x": 5.0, "size": "L", "noise": "7"}
    value = udt.predict(row)[0][0]
    for column, _, effect in udt.explain(row):
        instead = np.mean([udt.predict({**row, column: b})[0][0] for b in udt.background[column]])
        assert effect == pytest.approx(value - instead, rel=1e-5, abs=1e-4)


def test_the_held_out_error_of_cumulative_bins_is_each_rows_own():
    from sparsebolt.data.batch import Labels
    from sparsebolt.data.value import Value
    from sparsebolt.automl.featurize import TargetBins
    from sparsebolt.train.metrics import NegativeMAE

    bounds = np.array([10.0, 12.0, 12.0, 20.0])
    values = np.array([11.0, 12.0, 19.0, 30.0, 5.0])          # the last two beyond the bounds
    labels = cumulative_labels(bounds, values, np.searchsorted(bounds[1:-1], values, side="right"))
    outputs = np.array([[0.5, 0.0, 0.0], [1.0, 1.0, 0.2], [1.0, 1.0, 0.5], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]],
                       dtype=np.float32)
    target = TargetBins("y", sb.types.numerical())
    target.edges, target.bounds, target.centers = bounds[1:-1], bounds, np.array([11.0, 12.0, 16.0])
    metric = NegativeMAE(target.predicted, target.values_of).fresh()
    metric.update(None, None, labels, Value.dense(outputs))
    predicted = 10.0 + outputs @ np.diff(bounds)                 # 11, 13.6, 16, 20, 10
    truth = np.clip(values, 10.0, 20.0)
    assert metric.result() == pytest.approx(-np.abs(predicted - truth).mean())
    assert isinstance(labels, Labels)


def test_a_range_given_for_the_target_bounds_its_bins():
    rows = _rows(np.random.default_rng(1), 300)
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                       "noise": sb.types.categorical(), "y": sb.types.numerical(range=(-10, 80), bins=9)},
                                      target="y", **SMALL)
    udt.train(rows, epochs=1, verbose=False)
    np.testing.assert_allclose(udt.featurizer.labels.bounds, np.linspace(-10, 80, 10))


def test_a_later_train_without_held_out_rows_drops_the_old_calibration():
    rng = np.random.default_rng(4)
    words = rng.integers(30, size=600)
    rows = [{"w": f"w{w}", "y": "yes" if rng.random() < (0.8 if w < 15 else 0.2) else "no"} for w in words]
    udt = sb.UniversalDeepTransformer({"w": sb.types.categorical(), "y": sb.types.categorical()}, target="y", **SMALL)
    udt.train(rows, verbose=False)
    assert udt.calibration != (1.0, 0.0)
    udt.train(rows, epochs=2, learning_rate=1e-2, verbose=False)   # the slope was fitted to other weights
    assert udt.calibration == (1.0, 0.0)


def test_a_constant_target_with_exact_values_saves_and_loads(tmp_path):
    # its mean may round below its one value, the lowest the saved means may hold
    rows = [{"h": float(k % 40), "y": 0.1} for k in range(400)]
    udt = sb.UniversalDeepTransformer({"h": sb.types.numerical(exact=True), "y": sb.types.numerical()},
                                      target="y", **SMALL)
    udt.train(rows, epochs=1, verbose=False)
    low, high = udt.featurizer.target_range()
    assert low <= udt.featurizer.stat_base <= high
    udt.save(tmp_path / "c.sbm")
    assert sb.UniversalDeepTransformer.load(tmp_path / "c.sbm").predict_batch(rows[:5]) == udt.predict_batch(rows[:5])


def test_a_numerical_targets_bins_come_from_every_training_row(monkeypatch):
    # rows read in several chunks (65,536 rows each): the largest value in a later one is no
    # value 'outside the range of the first rows'
    import sparsebolt.automl.udt as udt_module

    monkeypatch.setattr(udt_module, "CHUNK_ROWS", 100)
    rows = _rows(np.random.default_rng(2), 400)
    rows[350]["y"] = 500.0
    udt = _regressor()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        udt.train(rows, epochs=1, verbose=False)
    assert udt.featurizer.labels.bounds[-1] == 500.0
    assert udt.featurizer.labels.bounds[0] == min(r["y"] for r in rows)


def test_a_streamed_targets_bins_hold_a_bounded_sample_and_every_rows_range_and_means():
    from sparsebolt.automl.featurize import TargetBins

    rng = np.random.default_rng(2)
    chunks = [rng.lognormal(3.0, 1.0, n) for n in (700, 0, 1300, 900)]
    whole = np.concatenate(chunks)
    exact, within, sampled = (TargetBins("y", sb.types.numerical(bins=20)) for _ in range(3))
    exact.fit(whole)
    within.fit_chunks(iter(chunks), lambda: iter(chunks), most=whole.shape[0])
    for a in ("edges", "centers", "bounds"):                     # under the cap: fit's bins to the bit
        np.testing.assert_array_equal(getattr(within, a), getattr(exact, a))
    sampled.fit_chunks(iter(chunks), lambda: iter(chunks), most=500, seed=3)
    assert sampled.bounds[0] == whole.min() and sampled.bounds[-1] == whole.max()
    # edges of a sample: each near its quantile of every value, not those of every value
    assert not np.array_equal(sampled.edges, exact.edges)
    ranks = np.searchsorted(np.sort(whole), sampled.edges) / whole.shape[0]
    np.testing.assert_allclose(ranks, np.searchsorted(np.sort(whole), exact.edges) / whole.shape[0], atol=0.06)
    # the bins' means are of every value
    bins = np.searchsorted(sampled.edges, whole, side="right")
    for b in np.unique(bins):
        assert sampled.centers[b] == pytest.approx(whole[bins == b].mean(), rel=1e-12)
    again = TargetBins("y", sb.types.numerical(bins=20))
    again.fit_chunks(iter(chunks), lambda: iter(chunks), most=500, seed=3)
    np.testing.assert_array_equal(again.edges, sampled.edges)   # seeded


@pytest.mark.parametrize("streamed", [None, 250])
def test_a_trains_target_bins_come_from_a_bounded_sample_past_the_cap(monkeypatch, streamed):
    from sparsebolt.automl.featurize import TargetBins

    rows = _rows(np.random.default_rng(4), 900)
    y = np.array([r["y"] for r in rows])
    exact = TargetBins("y", sb.types.numerical())
    exact.fit(y)
    monkeypatch.setattr("sparsebolt.automl.featurize.SAMPLED_TARGET_VALUES", 300)
    udt = _regressor()
    udt.train(rows, epochs=1, max_in_memory_rows=streamed, verbose=False)
    bins = udt.featurizer.labels
    assert (bins.bounds[0], bins.bounds[-1]) == (y.min(), y.max())    # every row's range
    assert bins.edges.shape == exact.edges.shape and not np.array_equal(bins.edges, exact.edges)


def test_a_numerical_targets_rate_halves_after_two_epochs_without_a_lower_error_and_stops_after_four(monkeypatch):
    # its held-out error moves a little each epoch by chance: a class target's schedule (halve
    # at the first epoch without a new best) cut its rate while the error still fell
    from sparsebolt.automl import udt as U
    made = []
    for cls in (U.WarmupPlateau, U.EarlyStopping):
        monkeypatch.setattr(U, cls.__name__, type(cls.__name__, (cls,), {
            "__init__": lambda self, *a, _cls=cls, **kw: made.append((_cls.__name__, kw["patience"])) or
            _cls.__init__(self, *a, **kw)}))
    rows = _rows(np.random.default_rng(0), 400)
    _regressor().train(rows, max_epochs=3, verbose=False)
    assert made == [("EarlyStopping", U.NUMERICAL_PATIENCE), ("WarmupPlateau", U.NUMERICAL_PLATEAU_PATIENCE)]
    assert (U.NUMERICAL_PLATEAU_PATIENCE, U.NUMERICAL_PATIENCE) == (2, 4)
    made.clear()
    classes = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical()}, target="size",
                                          **SMALL)
    classes.train([{"x": r["x"], "size": r["size"]} for r in rows], max_epochs=3, verbose=False)
    assert made == [("EarlyStopping", U.AUTO_PATIENCE), ("WarmupPlateau", 1)]
