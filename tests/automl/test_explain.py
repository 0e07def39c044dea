"""UniversalDeepTransformer.explain and embed, on models whose answer is known by construction."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.io import ModelFileError

from ..io.helpers import rewrite
from .test_udt import BAD, GOOD, SMALL, _reviews


@pytest.fixture(scope="module")
def reviews_model():
    rng = np.random.default_rng(0)
    rows = [{"review": text, "size": str(rng.choice(["S", "M", "L"])), "recommended": label}
            for text, label in _reviews(rng, 800)]
    udt = sb.UniversalDeepTransformer({"review": sb.types.text(tokenizer="words"), "size": sb.types.categorical(),
                                       "recommended": sb.types.categorical()}, target="recommended", **SMALL)
    udt.train(rows, epochs=10, learning_rate=1e-2, verbose=False)
    return udt


def test_the_words_that_decide_the_label_explain_it(reviews_model):
    # the label is "yes" exactly when the review holds GOOD words; filler words and the
    # size carry nothing
    row = {"review": "word3 great word7 love word12", "size": "M"}
    assert reviews_model.predict(row)[0][0] == "yes"
    got = reviews_model.explain(row)
    assert {t for _, t, _ in got[:2]} == {"great", "love"} and all(c > 0 for _, _, c in got[:2])
    rest = [abs(c) for _, t, c in got[2:]]
    assert max(rest) < 0.5 * min(c for _, _, c in got[:2])
    assert ("size", "M") in [(col, t) for col, t, _ in got]
    # the other class: the same words push its score down
    against = {t: c for _, t, c in reviews_model.explain(row, target="no")}
    assert against["great"] < 0 and against["love"] < 0
    with pytest.raises(ValueError, match="The 'target' parameter of explain"):
        reviews_model.explain(row, target="maybe")


def test_embeddings_separate_the_classes(reviews_model):
    good = [{"review": f"word{i} {GOOD[i % 6]} word{i + 1}"} for i in range(20)]
    bad = [{"review": f"word{i} {BAD[i % 6]} word{i + 1}"} for i in range(20)]
    e = reviews_model.embed(good + bad)
    assert e.shape == (40, reviews_model.embedding_dim) and e.dtype == np.float32
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    same = (sim[:20, :20].sum() - 20) / 380 + (sim[20:, 20:].sum() - 20) / 380
    across = sim[:20, 20:].mean()
    assert same / 2 > across + 0.1
    # the embedding is what the output layer sees
    ids, _ = reviews_model.model.output.layer.dense_top_k(sb.nn.Value.dense(reviews_model.embed(good[:1])), 1)
    assert reviews_model.featurizer.labels.name(int(ids[0, 0])) == reviews_model.predict(good[0])[0][0]


@pytest.fixture(scope="module")
def noisy_table():
    # the label is x > 0 or color 'red'; 'noise' and 'shade' are drawn apart from it, and no
    # training value is missing (a value left empty was what the network had never seen)
    rng = np.random.default_rng(1)

    def rows(n):
        x, noise = rng.normal(size=n).round(3), rng.normal(size=n).round(3)
        color, shade = rng.choice(["red", "blue", "green"], n), rng.choice(list("abcdefgh"), n)
        return [{"x": float(a), "color": str(c), "noise": float(b), "shade": str(s),
                 "y": "1" if a > 0 or c == "red" else "0"} for a, c, b, s in zip(x, color, noise, shade)]

    types = {"x": sb.types.numerical(), "color": sb.types.categorical(), "noise": sb.types.numerical(),
             "shade": sb.types.categorical(), "y": sb.types.categorical()}
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.train(rows(3000), verbose=False)
    return udt, [{k: v for k, v in r.items() if k != "y"} for r in rows(200)]


def test_columns_of_noise_explain_nothing_on_average(noisy_table):
    udt, test = noisy_table
    effects = {}
    for row in test:
        for column, _, effect in udt.explain(row):
            effects.setdefault(column, []).append(effect)
    mean = {c: float(np.mean(e)) for c, e in effects.items()}
    size = {c: float(np.mean(np.abs(e))) for c, e in effects.items()}
    # left empty instead, 'noise' read +4.8 on average (x +3.2, color +2.7) and 'shade' +0.5;
    # replaced by training values, +0.02 and +0.08
    assert abs(mean["noise"]) < 0.2 and abs(mean["shade"]) < 0.2
    assert min(size["x"], size["color"]) > 3 * max(size["noise"], size["shade"])
    assert mean["x"] > 0.5 and mean["color"] > 0.2


def test_a_column_is_replaced_by_the_kept_training_values(noisy_table, tmp_path):
    udt, test = noisy_table
    assert set(udt.background) == {"x", "color", "noise", "shade"}
    assert all(len(v) == sb.automl.udt.BACKGROUND_ROWS for v in udt.background.values())
    row = test[0]
    variants = [row] + [{**row, "x": b} for b in udt.background["x"]]
    layer = udt.model.output.layer
    z = udt.embed(variants).astype(np.float64) @ layer.W.value.T.astype(np.float64) + layer.b.value
    k = int(np.argmax(z[0]))
    log_odds = z[:, k] - z[:, 1 - k]
    got = {c: e for c, _, e in udt.explain(row)}
    assert got["x"] == pytest.approx(log_odds[0] - log_odds[1:].mean(), rel=1e-4)
    # a value the background holds everywhere changes nothing
    kept = udt.background["shade"]
    udt.background["shade"] = [row["shade"]] * 4
    try:
        assert {c: e for c, _, e in udt.explain(row)}["shade"] == pytest.approx(0.0, abs=1e-9)
    finally:
        udt.background["shade"] = kept
    # kept in the model file, checked on load
    udt.save(tmp_path / "m.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")
    assert loaded.background == udt.background and loaded.explain(row) == udt.explain(row)


@pytest.mark.parametrize("change, message", [
    (lambda b: b.update(height=["1"]), "names 'height', not an input column"),
    (lambda b: b.update(x=[]), "'x' must be 1 to 32 values"),
    (lambda b: b.update(x=b["x"] * 2), "'x' must be 1 to 32 values"),
    (lambda b: b.update(color=[{"red": 1}]), "'color' must be 1 to 32 values"),
])
def test_a_file_with_a_bad_explain_background_is_refused(noisy_table, tmp_path, change, message):
    udt, _ = noisy_table
    udt.save(tmp_path / "m.sbm")

    def bad(manifest):
        change(manifest["automl"]["background"])
        return manifest

    rewrite(tmp_path / "m.sbm", tmp_path / "bad.sbm", bad)
    with pytest.raises(ModelFileError, match=message):
        sb.UniversalDeepTransformer.load(tmp_path / "bad.sbm")


def test_a_file_saved_before_the_background_leaves_each_value_empty(noisy_table, tmp_path):
    udt, test = noisy_table
    udt.save(tmp_path / "m.sbm")

    def before(manifest):
        del manifest["automl"]["background"]
        return manifest

    rewrite(tmp_path / "m.sbm", tmp_path / "old.sbm", before)
    old = sb.UniversalDeepTransformer.load(tmp_path / "old.sbm")
    assert old.background is None
    row = test[0]
    layer = old.model.output.layer
    z = old.embed([row, {**row, "noise": None}]).astype(np.float64) @ layer.W.value.T.astype(np.float64) + layer.b.value
    k = int(np.argmax(z[0]))
    log_odds = z[:, k] - z[:, 1 - k]
    got = {c: e for c, _, e in old.explain(row)}
    assert got["noise"] == pytest.approx(log_odds[0] - log_odds[1], rel=1e-4)


def test_the_background_of_numpy_scalars_saves(tmp_path):
    # a longdouble's item() is a longdouble, which the manifest's JSON cannot hold
    import pandas as pd
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x.astype(np.longdouble), "n": rng.integers(0, 5, 300).astype(np.uint64),
                          "flag": x > 1, "y": np.where(x > 0, "a", "b")})
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "n": sb.types.categorical(),
                                       "flag": sb.types.categorical(), "y": sb.types.categorical()},
                                      target="y", **SMALL)
    udt.train(frame, epochs=1, verbose=False)
    assert {type(v) for v in udt.background["x"]} == {float} and {type(v) for v in udt.background["n"]} == {int}
    assert {type(v) for v in udt.background["flag"]} == {bool}
    udt.save(tmp_path / "m.sbm")
    assert sb.UniversalDeepTransformer.load(tmp_path / "m.sbm").background == udt.background


@pytest.mark.parametrize("source", ["csv", "frame"])
def test_the_background_is_drawn_from_every_row_of_a_sorted_source(tmp_path, monkeypatch, source):
    # drawn from the first chunk, a file sorted by a column gave explain one value of it
    import pandas as pd

    from sparsebolt.automl import udt as udt_module
    monkeypatch.setattr(udt_module, "CHUNK_ROWS", 500)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"part": np.repeat(["p0", "p1", "p2", "p3"], 500), "x": rng.normal(size=2000).round(3)})
    frame["y"] = np.where(frame["x"] > 0, "a", "b")
    frame.to_csv(tmp_path / "sorted.csv", index=False)
    udt = sb.UniversalDeepTransformer({"part": sb.types.categorical(), "x": sb.types.numerical(),
                                       "y": sb.types.categorical()}, target="y", **SMALL)
    udt.train(str(tmp_path / "sorted.csv") if source == "csv" else frame, epochs=1, verbose=False)
    assert set(udt.background["part"]) == {"p0", "p1", "p2", "p3"}


def test_missing_values_explain_nothing_and_a_word_in_two_cases_is_one_token(reviews_model):
    # the featurizer reads NaN as no value (and lowercases the words): explain had shown
    # NaN as a value 'nan', and left 'Great' out alone, its 'great' still deciding
    import pandas as pd
    row = {"review": "word3 great word7", "size": None}
    got = reviews_model.explain(row)
    assert [c for c, t, _ in got if t == "nan" or c == "size"] == []
    for missing in (float("nan"), pd.NA, np.nan):
        assert reviews_model.explain({**row, "size": missing}) == got
    assert reviews_model.explain({"review": float("nan"), "size": "M"}) == \
        reviews_model.explain({"review": None, "size": "M"})
    twice = reviews_model.explain({"review": "Great great word7", "size": None})
    assert [t for _, t, _ in twice] == ["great", "word7"] and twice[0][2] > 0


def test_a_missing_marker_of_a_number_explains_nothing(noisy_table):
    # predict reads 'NA' in a numerical column as no value; explain had listed it as a token
    udt, test = noisy_table
    row = test[0]
    got = udt.explain({**row, "x": None})
    assert [c for c, _, _ in got if c == "x"] == []
    for marker in ("NA", "null", " NaN "):
        assert udt.explain({**row, "x": marker}) == got
    # in a categorical column 'NA' is a value (Namibia)
    assert ("color", "NA") in [(c, t) for c, t, _ in udt.explain({**row, "color": "NA"})]
