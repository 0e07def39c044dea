"""A numerical target: regression through bins, end to end (train with and without
arguments, evaluate MAE and RMSE, predict values, explain, save and load)."""
import numpy as np
import pytest

import sparsebolt as sb

from .test_udt import SMALL


def _rows(rng, n):
    rows = []
    for _ in range(n):
        size = rng.choice(["S", "M", "L"])
        x = float(rng.uniform(0, 10))
        y = 3.0 * x + {"S": 0.0, "M": 20.0, "L": 40.0}[size] + rng.normal(0, 1.0)
        rows.append({"x": x, "size": size, "noise": str(rng.integers(100)), "y": y})
    return rows


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
    row = {"x": 5.0, "size": "M", "noise": "7"}
    value, score = udt.predict(row)[0]
    assert abs(value - 35.0) < 3.0 and score is None
    # the size moves the value most, then x; the noise column barely
    explained = {c: v for c, _, v in udt.explain(row)}
    assert abs(explained["size"]) > abs(explained["noise"]) and abs(explained["x"]) > abs(explained["noise"])
    with pytest.raises(ValueError, match="'mae' or 'rmse'"):
        udt.evaluate(test, metrics=["precision@1"])
    assert udt.evaluate(test, metrics="mae") == {"mae": got["mae"]}   # one name, not its letters
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


def test_a_target_gets_10_bins_by_default_and_its_given_count_otherwise():
    rows = _rows(np.random.default_rng(1), 400)
    counts = {}
    for bins in (None, 30):
        udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "size": sb.types.categorical(),
                                           "y": sb.types.numerical(bins=bins)}, target="y", **SMALL)
        udt.train(rows, epochs=1, verbose=False)
        counts[bins] = udt.n_classes
    # the 10- (30-) quantiles of the values and of the distinct values: 10 to 19 (30 to 59) bins
    assert 10 <= counts[None] <= 19 and 30 <= counts[30] <= 59
    assert sb.types.numerical().n_bins(1000) == 15 and sb.types.numerical().n_bins(target=True) == 10


def test_a_numerical_target_learns_from_its_exact_values_means():
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
    for exact in ("auto", False):
        udt = sb.UniversalDeepTransformer({"income": sb.types.numerical(exact=exact), "x": sb.types.numerical(),
                                           "y": sb.types.numerical()}, target="y", **SMALL)
        udt.train(train, verbose=False)
        mae[exact] = udt.evaluate(test, metrics=["mae"])["mae"]
    assert mae[False] > 3.5 and mae["auto"] < 1.5
    assert udt.featurizer.stat_columns() == []
