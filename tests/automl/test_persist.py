"""UniversalDeepTransformer.save / load: everything a prediction depends on comes back,
and training goes on from where it was."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.automl._persist import pack_strings, unpack_strings

from .test_udt import SMALL, _graph, _reviews, _sessions, _write_csv


def _same_predictions(a, b, rows, **kw):
    for got, want in zip(b.predict_batch(rows, top_k=3, **kw), a.predict_batch(rows, top_k=3, **kw)):
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])


def test_strings_round_trip_through_bytes_and_offsets():
    strings = ["", "a", "naïve café", "東京", "x" * 300]
    data, offsets = pack_strings(strings)
    assert data.dtype == np.uint8 and offsets.dtype == np.int64
    arrays = {"s/bytes": data, "s/offsets": offsets}
    assert unpack_strings(arrays, "s", len(strings)) == strings
    with pytest.raises(ValueError, match="must run from 0"):
        unpack_strings({"s/bytes": data, "s/offsets": offsets[::-1].copy()}, "s", len(strings))
    with pytest.raises(ValueError, match="UTF-8"):
        unpack_strings({"s/bytes": np.array([0xff], np.uint8), "s/offsets": np.array([0, 1])}, "s", 1)


def test_a_loaded_text_model_predicts_the_same_and_keeps_training(tmp_path):
    rng = np.random.default_rng(0)
    header = ["review", "stars", "size", "recommended"]
    rows = [[text, str(rng.integers(1, 6)), float(rng.normal()), label] for text, label in _reviews(rng, 400)]
    train = _write_csv(tmp_path / "train.csv", header, rows[:300])
    types = {"review": sb.types.text(), "stars": sb.types.categorical(), "size": sb.types.numerical(),
             "recommended": sb.types.categorical()}
    model = sb.UniversalDeepTransformer(types, target="recommended", **SMALL)
    model.train(train, epochs=2, learning_rate=5e-3, verbose=False)
    path = tmp_path / "udt.sbm"
    model.save(path)
    loaded = sb.UniversalDeepTransformer.load(path)
    assert loaded.get_config() == model.get_config()
    test = [dict(zip(header[:3], r[:3])) for r in rows[300:]]
    _same_predictions(model, loaded, test)
    # the optimizer's moments came back too: one more epoch gives the same weights
    for m in (model, loaded):
        m.train(train, epochs=1, learning_rate=5e-3, verbose=False)
    for p, q in zip(model.model.parameters(), loaded.model.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    _same_predictions(model, loaded, test)


def test_a_loaded_recommender_keeps_the_interaction_histories(tmp_path):
    rng = np.random.default_rng(2)
    rows = _sessions(rng, 60, 20, 8)
    train = _write_csv(tmp_path / "train.csv", ["user", "item", "time"], rows)
    model = sb.UniversalDeepTransformer(
        {"user": sb.types.categorical(), "item": sb.types.categorical(), "time": sb.types.date(format="unix")},
        target="item", temporal_tracking={"user": ["item"]}, **SMALL)
    model.train(train, epochs=3, learning_rate=1e-2, verbose=False)
    model.save(tmp_path / "rec.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "rec.sbm", mmap=True)
    users = [{"user": f"user{u}"} for u in range(60)]
    _same_predictions(model, loaded, users)
    fresh = sb.UniversalDeepTransformer.from_config(model.get_config())
    fresh.model = loaded.model  # the same network without the histories predicts otherwise
    assert [r[0] for r in fresh.predict_batch(users)] != [r[0] for r in model.predict_batch(users)]


def test_a_loaded_graph_model_keeps_the_node_index(tmp_path):
    rng = np.random.default_rng(3)
    rows = _graph(rng, 300, 4, 3)
    header = ["node", "text", "neighbors", "group"]
    train = _write_csv(tmp_path / "train.csv", header, rows)
    model = sb.UniversalDeepTransformer(
        {"node": sb.types.node_id(), "text": sb.types.text(), "neighbors": sb.types.neighbors(),
         "group": sb.types.categorical()}, target="group", **SMALL)
    model.train(train, epochs=3, learning_rate=5e-3, verbose=False)
    model.save(tmp_path / "graph.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "graph.sbm")
    assert loaded.featurizer.nodes.neighbors == model.featurizer.nodes.neighbors
    # the node alone: its text and neighbors come from the index
    _same_predictions(model, loaded, [{"node": r[0]} for r in rows])


def test_sparse_inference_with_pinned_labels_survives(tmp_path):
    rng = np.random.default_rng(1)
    n_classes = 600
    rows = [[" ".join(f"t{c}w{k}" for k in rng.integers(0, 4, 3)), f"c{c}"] for c in rng.integers(0, n_classes, 3000)]
    train = _write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    model = sb.UniversalDeepTransformer({"text": sb.types.text(tokenizer="words"), "label": sb.types.categorical()},
                                        target="label", sparsity=0.1, **SMALL)
    model.train(train, epochs=2, learning_rate=1e-2, verbose=False)
    model.pin_labels(train, n_tables=24, every_bucket=True, verbose=False)  # tables rebuilt, as make demo does
    assert model.model.output.layer.index.config.n_tables == 24
    model.save(tmp_path / "xc.sbm", optimizer_state=False)
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "xc.sbm")
    assert loaded.model.output.layer.index.tables.pinned.any()
    _same_predictions(model, loaded, [{"text": r[0]} for r in rows[:200]], sparse_inference=True)


def test_the_two_kinds_of_model_file_load_where_they_fit(tmp_path):
    rng = np.random.default_rng(0)
    train = _write_csv(tmp_path / "train.csv", ["review", "label"], _reviews(rng, 100))
    udt = sb.UniversalDeepTransformer({"review": sb.types.text(), "label": sb.types.categorical()},
                                      target="label", **SMALL)
    with pytest.raises(RuntimeError, match="call train first"):
        udt.save(tmp_path / "untrained.sbm")
    udt.train(train, epochs=1, verbose=False)
    udt.save(tmp_path / "udt.sbm")
    net = sb.Model.load(tmp_path / "udt.sbm")  # the network alone: feature ids in
    assert net.output.layer.dim == udt.n_classes
    net.save(tmp_path / "net.sbm")
    with pytest.raises(sb.io.ModelFileError, match="sb.Model.load"):
        sb.UniversalDeepTransformer.load(tmp_path / "net.sbm")


def test_info_describes_the_columns_target_and_classes(tmp_path, capsys):
    from sparsebolt.cli import main
    rng = np.random.default_rng(0)
    train = _write_csv(tmp_path / "train.csv", ["review", "price", "size", "label"],
                       [[t, str(rng.random()), str(rng.integers(5)), lab] for t, lab in _reviews(rng, 100)])
    udt = sb.UniversalDeepTransformer({"review": sb.types.text(), "price": sb.types.numerical(bins=8),
                                       "size": sb.types.numerical(exact=True), "label": sb.types.categorical()},
                                      target="label", **SMALL)
    udt.train(train, epochs=1, verbose=False)
    udt.save(tmp_path / "udt.sbm")
    capsys.readouterr()
    assert main(["info", str(tmp_path / "udt.sbm")]) == 0
    out = capsys.readouterr().out
    assert "target 'label'" in out and "2 classes" in out
    assert "column 'review': text(tokenizer=" in out
    assert "column 'price': numerical(bins=8, position=True, periodic=True, exact=auto)\n" in out
    assert "column 'size': numerical(position=True, periodic=True, exact=True), 5 exact values with a token and the target's mean" in out
    described = sb.io._describe.describe_file(tmp_path / "udt.sbm")["automl"]
    assert described["classes"] == 2 and set(described["class_names"]) == {"yes", "no"}


@pytest.mark.parametrize("path, value", [
    (["config"], []), (["state"], []),  # a list for a table: a bare AttributeError had come out
    # and these had loaded: labels as numbers (predict then answered 1, not '1'), twice, edges out of
    # order, idf counts of other ids than the ids, a vocabulary of numbers
    (["config", "featurizer", "labels", "labels"], [0, 1]), (["config", "featurizer", "labels", "labels"], ["0", "0"]),
    (["config", "featurizer", "edges", "n"], [5.0, 1.0, 3.0]),
    (["config", "featurizer", "document_frequencies", "t", "counts"], [1]),
    (["config", "featurizer", "document_frequencies", "t", "rows"], -1),
    (["config", "featurizer", "vocabularies", "c"], [1, 2]),
    # a column's vocabulary or bin edges left out (had loaded, then failed on each predict), idf
    # numbers that are not whole (40.5 had read as 40) or beyond int64
    (["config", "featurizer", "vocabularies"], {}), (["config", "featurizer", "edges"], {}),
    (["config", "featurizer", "edges", "n"], None),  # a trained model's: predict binned by its own rows
    # idf counts of a column the data types no longer name (a text column left out had loaded)
    (["config", "featurizer", "document_frequencies", "gone"], {"rows": 1, "ids": [], "counts": []}),
    (["config", "featurizer", "document_frequencies", "t", "rows"], 40.5),
    (["config", "featurizer", "document_frequencies", "t", "ids"], [2 ** 63]),
    # pairs of exact values: of one column twice, of a categorical column, not a list of entries
    (["config", "featurizer", "exact_pairs"], [["n", "n", [[1.0, 2.0]]]]),
    (["config", "featurizer", "exact_pairs"], [["n", "c", [[1.0, 2.0]]]]),
    (["config", "featurizer", "exact_pairs"], "n"),
    (["config", "featurizer", "exact_pairs"], [[["n"], "n", [[1.0, 2.0]]]]),
    # both orders of one pair, a pair held twice, a column told exact=False, ragged pairs
    (["config", "featurizer", "exact_pairs"], [["n", "m", [[1.0, 2.0]]], ["m", "n", [[1.0, 2.0]]]]),
    (["config", "featurizer", "exact_pairs"], [["n", "m", [[1.0, 2.0], [1.0, 2.0]]]]),
    (["config", "featurizer", "exact_pairs"], [["n", "k", [[1.0, 2.0]]]]),
    (["config", "featurizer", "exact_pairs"], [["n", "m", [[1.0, 2.0], [3.0]]]]),
    # exact values out of order (searched, they gave wrong tokens), held twice at float32
    # precision, of text, of a categorical column
    (["config", "featurizer", "exact_values", "n"], [3.0, 1.0]),
    (["config", "featurizer", "exact_values", "n"], [0.1, 0.10000000001]),
    (["config", "featurizer", "exact_values", "n"], ["1"]),
    (["config", "featurizer", "exact_values", "c"], [1.0]),
])
def test_a_hand_edited_manifest_is_a_damaged_file(tmp_path, path, value):
    from sparsebolt.io import ModelFileError

    from ..io.helpers import rewrite
    types = {"t": sb.types.text(weighting="tfidf"), "c": sb.types.categorical(), "n": sb.types.numerical(),
             "m": sb.types.numerical(), "k": sb.types.numerical(exact=False), "y": sb.types.categorical()}
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.train([{"t": f"w{i % 3} v{i % 5}", "c": "a" if i % 2 else "b", "n": i, "m": i % 7, "k": i % 3, "y": str(i % 2)}
               for i in range(40)], epochs=1, verbose=False)
    udt.save(tmp_path / "good.sbm")

    def edit(manifest):
        d = manifest["automl"]
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
        return manifest

    rewrite(tmp_path / "good.sbm", tmp_path / "bad.sbm", edit)
    with pytest.raises(ModelFileError, match=r"bad.sbm: member 'manifest.json' holds a UniversalDeepTransformer "
                                             r"that cannot be rebuilt"):
        sb.UniversalDeepTransformer.load(tmp_path / "bad.sbm")
    from sparsebolt.io._describe import describe_file
    describe_file(tmp_path / "bad.sbm")  # what can be read, never an exception
    sb.UniversalDeepTransformer.load(tmp_path / "good.sbm")


@pytest.mark.parametrize("edit, missing", [
    # a 'tfidf' text column's document frequencies left out: it predicted without idf weights
    (lambda a: a["config"]["featurizer"]["document_frequencies"].pop("t"),
     r"no document frequencies for 'tfidf' text column\(s\) \['t'\]"),
    # its tokenizer left out: predict chose one anew by the rows it was given
    (lambda a: a["config"]["data_types"]["t"].pop("tokenizer"), r"no tokenizer or encoding for text column\(s\) \['t'\]"),
    # its weighting left out (sqrt): the document frequencies kept for it were ignored
    (lambda a: a["config"]["data_types"]["t"].pop("weighting"),
     r"document frequencies must be of the 'tfidf' text columns \[\], got entries for \['t'\]"),
    # a column the data types do not name, still to decide exact values for
    (lambda a: a["config"]["featurizer"].__setitem__("exact_undecided", ["gone"]),
     r"undecided exact values must be of the numerical columns \['n'\], got entries for \['gone'\]"),
], ids=["idf", "tokenizer", "weighting", "exact_undecided"])
def test_a_manifest_lacking_a_text_columns_fitted_settings_names_what_is_missing(tmp_path, edit, missing):
    from sparsebolt.io import ModelFileError

    from ..io.helpers import rewrite
    types = {"t": sb.types.text(weighting="tfidf"), "n": sb.types.numerical(), "y": sb.types.categorical()}
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.train([{"t": f"w{i % 3} v{i % 5}", "n": i, "y": str(i % 2)} for i in range(40)], epochs=1, verbose=False)
    udt.save(tmp_path / "good.sbm")

    def edited(manifest):
        edit(manifest["automl"])
        return manifest

    rewrite(tmp_path / "good.sbm", tmp_path / "bad.sbm", edited)
    with pytest.raises(ModelFileError, match=r"bad.sbm: member 'manifest.json' holds a UniversalDeepTransformer "
                                             r"that cannot be rebuilt \(.*" + missing):
        sb.UniversalDeepTransformer.load(tmp_path / "bad.sbm")


def test_a_bugs_attribute_error_in_load_is_not_reported_as_a_damaged_file(tmp_path, monkeypatch):
    # only a JSON value's (a list where a table belongs) is the file's fault; any other had
    # come out as "cannot be rebuilt", hiding the bug
    import sparsebolt.automl.udt as udt_module
    types = {"n": sb.types.numerical(), "y": sb.types.categorical()}
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.train([{"n": i, "y": str(i % 2)} for i in range(40)], epochs=1, verbose=False)
    udt.save(tmp_path / "m.sbm")
    monkeypatch.setattr(udt_module, "set_featurizer_state", lambda featurizer, meta, arrays: featurizer.misspelt)
    with pytest.raises(AttributeError, match="'Featurizer' object has no attribute 'misspelt'"):
        sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")


def test_exact_values_written_by_hand_match_at_float32_precision(tmp_path):
    from ..io.helpers import rewrite
    types = {"n": sb.types.numerical(exact=True), "y": sb.types.categorical()}
    rows = [{"n": [0.5, 1.5][i % 2], "y": str(i % 2)} for i in range(40)]
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.train(rows, epochs=1, verbose=False)
    udt.save(tmp_path / "good.sbm")

    def edit(manifest):  # 0.1 is no float32: read as float32, the column's 0.1 is 0.10000000149...
        manifest["automl"]["config"]["featurizer"]["exact_values"]["n"] = [0.1, 1.5]
        return manifest

    rewrite(tmp_path / "good.sbm", tmp_path / "edited.sbm", edit)
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "edited.sbm")
    codes = loaded.featurizer.exact_values["n"]
    assert codes.tolist() == [float(np.float32(0.1)), 1.5]
    from sparsebolt.automl.featurize import exact_codes, exact_keys
    assert exact_codes(codes, exact_keys(np.array([0.1, 1.5, 0.5]))).tolist() == [0, 1, -1]


def test_numbers_beyond_float32_range_take_no_exact_value_and_save(tmp_path):
    # their keys are infinite, which the manifest's JSON cannot hold: save had raised
    types = {"n": sb.types.numerical(exact=True), "m": sb.types.numerical(exact=True), "y": sb.types.categorical()}
    rows = [{"n": [1e39, -1e39, 0.5][i % 3], "m": [2e39, 1.5][i % 2], "y": str(i % 2)} for i in range(60)]
    udt = sb.UniversalDeepTransformer(types, target="y", **SMALL)
    udt.train(rows, epochs=1, verbose=False)
    assert udt.featurizer.exact_values["n"].tolist() == [0.5] and udt.featurizer.exact_values["m"].tolist() == [1.5]
    udt.save(tmp_path / "m.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")
    np.testing.assert_array_equal(loaded.predict_proba(rows[:6]), udt.predict_proba(rows[:6]))


def test_a_lone_surrogate_in_a_history_or_a_label_saves_and_loads(tmp_path):
    lone = "caf\ud800"  # as JSON may hold; it trains, hashed as a code point, and had failed to save
    rows = [{"user": f"u{i % 4}", "item": lone if i % 3 == 0 else f"i{i % 5}", "t": 1_600_000_000 + i}
            for i in range(60)]
    udt = sb.UniversalDeepTransformer({"user": sb.types.categorical(), "item": sb.types.categorical(),
                                       "t": sb.types.date(format="unix")}, target="item",
                                      temporal_tracking={"user": ["item"]}, **SMALL)
    udt.train(rows, epochs=1, verbose=False)
    udt.save(tmp_path / "m.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")
    query = {"user": "u0", "t": 1_700_000_000}
    assert loaded.predict(query, top_k=3) == udt.predict(query, top_k=3)
    assert lone in loaded.featurizer.labels.labels


def test_the_pairs_of_exact_values_are_saved_and_predict_the_same_after_loading(tmp_path):
    # a school and a teacher's years name the teacher's class only together
    rng = np.random.default_rng(0)
    kind = np.random.default_rng(99).integers(0, 3, (30, 20))
    school, years = rng.integers(0, 30, 3000), rng.integers(0, 20, 3000)
    rows = [{"school": float(a), "years": float(b), "y": f"k{kind[a, b]}"} for a, b in zip(school, years)]
    udt = sb.UniversalDeepTransformer({"school": sb.types.numerical(), "years": sb.types.numerical(),
                                       "y": sb.types.categorical()}, target="y", **SMALL)
    udt.train(rows[:2500], verbose=False)
    assert list(udt.featurizer.exact_pairs) == [("school", "years")]
    assert udt.evaluate(rows[2500:])["categorical_accuracy"] > 0.9
    udt.save(tmp_path / "m.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")
    np.testing.assert_array_equal(loaded.featurizer.exact_pairs[("school", "years")],
                                  udt.featurizer.exact_pairs[("school", "years")])
    assert loaded.predict_batch(rows[2500:2600]) == udt.predict_batch(rows[2500:2600])
    n = udt.featurizer.exact_pairs[("school", "years")].shape[0]
    from sparsebolt.io._describe import describe_file
    columns = describe_file(tmp_path / "m.sbm")["automl"]["columns"]
    assert columns["school"].endswith(f", {n:,} pairs of exact values with 'years', a token each")
    assert columns["years"].endswith(f", {n:,} pairs of exact values with 'school', a token each")
