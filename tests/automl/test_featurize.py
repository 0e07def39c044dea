"""Each column type's features: tokens, encodings, missing and unseen values, bins, dates,
graph neighbors."""
import json

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.automl.featurize import _distinct, date_parts, parse_times
from sparsebolt.data import DataFormatError
from sparsebolt.data import csv as csv_reader

from .helpers import DIM, featurize, ids_of, make, norm, token_id


def _text(rows, **kw):
    kw.setdefault("tokenizer", "words")
    feat = make({"t": sb.types.text(**kw)})
    return featurize(feat, [{"t": r, "y": "a"} for r in rows])


def test_words_are_lowercased_runs_of_letters_and_digits():
    (ids, vals), = _text(["Dog, dog! DOG"])
    assert len(ids) == 3 and len(set(ids)) == 1
    (a, _), (b, _) = _text(["Dog", "dog"], lowercase=False)
    assert a != b
    (ids, _), = _text(["café au-lait 42"])
    assert len(ids) == 4


def test_words_punct_adds_each_punctuation_mark():
    (ids, _), (words, _) = _text(["Dog, dog!", "dog dog"], tokenizer="words_punct")
    assert len(ids) == 4 and len(set(ids)) == 3 and set(words) < set(ids)


def test_char_k_grams_cover_every_window():
    (ids, _), = _text(["abcd"], tokenizer="char-3")
    assert len(ids) == 2
    (short, _), = _text(["ab"], tokenizer="char-3")
    assert len(short) == 1
    (both, _), = _text(["abcd"], tokenizer=["words", "char-3"])
    assert len(both) == 3


def test_char_wb_k_grams_stay_within_padded_words():
    (ab, _), (cd, _), (both, _), (abcd, _) = _text(["ab", "cd", "ab, cd", "abcd"], tokenizer="char_wb-3")
    # ' ab ' has the windows ' ab' and 'ab '; no window spans the two words
    assert len(ab) == 2 and set(both) == set(ab) | set(cd)
    assert len(abcd) == 4
    (short, _), = _text(["a"], tokenizer="char_wb-5")
    assert len(short) == 1
    (bigrams, _), = _text(["ab, cd"], tokenizer="char_wb-3", encoding="bigrams")
    assert set(bigrams) == set(both)


def _tfidf(train, rows=()):
    feat = make({"t": sb.types.text("words", weighting="tfidf")})
    fitted = featurize(feat, [{"t": r, "y": "a"} for r in train])
    return feat, fitted, featurize(feat, [{"t": r} for r in rows], "predict") if rows else []


def _weights(feat, row):
    """{word: value} of a featurized row."""
    words = ("common", "rare", "other", "unseen")
    word_ids = {featurize(feat, [{"t": w}], "predict")[0][0][0]: w for w in words}
    return {word_ids[i]: v for i, v in zip(*row) if i in word_ids}


def test_tfidf_weighs_rare_words_up_and_rows_to_unit_norm():
    feat, (first, *_), (row,) = _tfidf(["common rare", "common other", "common other"], ["common rare rare"])
    w = _weights(feat, first)
    assert w["rare"] > w["common"] and norm(first[1]) == pytest.approx(1.0, rel=1e-5)
    # a repeated word is one feature of weight (1 + log 2) * idf
    assert len(row[0]) == 2 and norm(row[1]) == pytest.approx(1.0, rel=1e-5)
    assert _weights(feat, row)["rare"] / _weights(feat, row)["common"] == pytest.approx(
        (1 + np.log(2)) * w["rare"] / w["common"], rel=1e-5)


def test_tfidf_document_frequencies_come_from_the_first_training_rows_only():
    feat, (first, *_), _ = _tfidf(["common rare", "common other", "common other"])
    fitted = feat.get_config()["document_frequencies"]
    assert fitted["t"]["rows"] == 3 and sorted(fitted["t"]["counts"]) == [1, 2, 3]
    # evaluation rows and later training chunks do not change them
    featurize(feat, [{"t": "rare rare", "y": "a"}] * 5, mode="eval")
    featurize(feat, [{"t": "rare", "y": "a"}] * 5, mode="train")
    assert feat.get_config()["document_frequencies"] == fitted
    assert featurize(feat, [{"t": "common rare", "y": "a"}])[0] == first
    # a word never seen in training weighs like the rarest
    (row,) = featurize(feat, [{"t": "rare unseen"}], "predict")
    assert _weights(feat, row)["unseen"] > _weights(feat, row)["rare"]


def test_row_statistics_fitted_over_chunks_equal_one_chunk_of_every_row():
    # sorted by the number and the date: the first chunk holds their lowest values only
    train = [{"t": t, "x": float(i), "d": str(np.datetime64("2020-01-01") + i), "y": "a"}
             for i, t in enumerate(["common rare", "common other", "common other", "other unseen", "unseen"] * 8)]
    types = {"t": sb.types.text("words", weighting="tfidf"), "x": sb.types.numerical(), "d": sb.types.date()}
    one, several = make(types), make(types)
    assert sorted(several.row_statistics_columns()) == ["d", "t", "x"]
    one.fit_row_statistics(csv_reader.read_chunks(train, one.columns(False), 100))
    several.fit_row_statistics(csv_reader.read_chunks(train, several.columns(False), 1))  # past 32 chunks
    assert several.get_config() == one.get_config()
    assert several.row_statistics_columns() == []
    assert several.edges["x"][-1] > 38 and several.date_edges["d"][-1] > several.date_edges["d"][0]
    # training's featurizing keeps them, not its first chunk's
    fitted = several.get_config()
    featurize(several, train[:2])
    assert several.get_config()["document_frequencies"] == fitted["document_frequencies"]
    assert several.get_config()["edges"] == fitted["edges"]


def test_an_even_sample_of_any_stream_is_bounded_and_keeps_every_phase():
    from sparsebolt.automl.featurize import EvenSample
    sample = EvenSample(most=1_000)
    # rows in pairs: every other one of a group far from the rest
    for start in range(0, 100_000, 4_096):
        place = np.arange(start, min(start + 4_096, 100_000))
        sample.add(np.where(place % 2 == 0, place % 7, 1_000.0))
    kept = sample.values()
    assert 500 < kept.size <= 1_000
    assert 0.4 < np.mean(kept == 1_000.0) < 0.6
    # the kept values own their memory: no chunk is held by a view
    assert all(part.base is None or part.base.size <= 1_000 for part in sample.values_)


def test_tfidf_document_frequencies_survive_the_config():
    feat, _, (row,) = _tfidf(["common rare", "common other"], ["common other rare"])
    config = json.loads(json.dumps(feat.get_config()))
    again = make({"t": sb.types.text("words", weighting="tfidf")})
    again.set_config(config)
    assert featurize(again, [{"t": "common other rare"}], "predict") == [row]
    fresh = make({"t": sb.types.text("words", weighting="tfidf")})
    assert featurize(fresh, [{"t": "common other rare"}], "predict") != [row]


def test_indexed_node_text_keeps_sqrt_weights_under_tfidf():
    from sparsebolt.data.csv import read_chunks
    feat = make({"node": sb.types.node_id(), "t": sb.types.text("words", weighting="tfidf"), "nbrs": sb.types.neighbors()})
    for chunk in read_chunks([{"node": "x", "t": "red green blue red"}], feat.columns(False), 100):
        feat.index_nodes(chunk)
    assert feat.nodes.features["x"][1] == pytest.approx([0.5] * 4)
    assert not feat.document_frequencies


@pytest.mark.parametrize("encoding, expected", [("unigrams", 3), ("bigrams", 5), ("pairgrams", 6)])
def test_encodings_count_their_grams(encoding, expected):
    (ids, vals), = _text(["red green blue"], encoding=encoding)
    assert len(set(ids)) == expected
    assert norm(vals) == pytest.approx(1.0, rel=1e-5)


def test_bigrams_depend_on_order_pairgrams_do_not():
    (ab, _), (ba, _) = _text(["red green", "green red"], encoding="bigrams")
    assert set(ab) != set(ba)
    (ab, _), (ba, _) = _text(["red green", "green red"], encoding="pairgrams")
    assert set(ab) == set(ba)


def test_equal_strings_in_two_columns_get_different_ids():
    feat = make({"a": sb.types.text("words"), "b": sb.types.text("words"), "c": sb.types.categorical()})
    (ids, _), = featurize(feat, [{"a": "dog", "b": "dog", "c": "dog", "y": "x"}])
    assert len(set(ids)) == 3


def test_missing_text_is_one_shared_token():
    feat = make({"t": sb.types.text("words")})
    rows = featurize(feat, [{"t": None, "y": "a"}, {"y": "a"}, {"t": "dog", "y": "a"}])
    assert rows[0] == rows[1] and len(rows[0][0]) == 1
    assert rows[0][0][0] not in rows[2][0]


def test_categorical_unseen_values_map_to_the_missing_bucket_at_prediction():
    feat = make({"c": sb.types.categorical()})
    train = ids_of(feat, [{"c": "red", "y": "a"}, {"c": "blue", "y": "a"}, {"c": None, "y": "a"}])
    assert len(set.union(*train)) == 3
    red, unseen, missing = ids_of(feat, [{"c": "red"}, {"c": "purple"}, {}], mode="predict")
    assert red == train[0]
    assert unseen == missing == train[2]


def test_categorical_numbers_and_their_strings_are_one_token():
    # strings go through the per-distinct-value path, numbers through the general one
    as_strings = ids_of(make({"c": sb.types.categorical()}), [{"c": v, "y": "a"} for v in ("3", "7", "3", None)])
    as_numbers = ids_of(make({"c": sb.types.categorical()}), [{"c": v, "y": "a"} for v in (3, 7, 3, None)])
    assert as_strings == as_numbers
    assert as_strings[0] == as_strings[2] != as_strings[1] != as_strings[3]
    assert as_strings[0] == {token_id(make({}), "3", "categorical", "c")}


def test_a_float32_category_is_the_decimal_a_file_holds(tmp_path):
    pd = pytest.importorskip("pandas")
    values = [0.1, 0.2, 0.3, 2.5]
    want = [{token_id(make({}), x, "categorical", "c")} for x in ("0.1", "0.2", "0.3", "2.5")]
    frame32 = pd.DataFrame({"c": np.array(values, dtype=np.float32), "y": "a"})
    path = tmp_path / "c.csv"
    frame32.to_csv(path, index=False)
    sources = {"float32 frame": frame32, "float64 frame": frame32.astype({"c": np.float64}),
               "its to_dict rows": frame32.to_dict("records"), "a file": str(path),
               "float32 scalars": [{"c": np.float32(v), "y": "a"} for v in values]}
    for name, source in sources.items():
        # a float32 widened had been its own category ('0.10000000149011612'), unknown to the others
        assert ids_of(make({"c": sb.types.categorical()}), source) == want, name
    # a float16 is its own shortest decimal, not its float32's ('0.099975586')
    assert ids_of(make({"c": sb.types.categorical()}), [{"c": np.float16(0.1), "y": "a"}]) == want[:1]
    # a float64 value that only rounds to a float32 stays itself
    assert ids_of(make({"c": sb.types.categorical()}), [{"c": 0.30000000000000004, "y": "a"}]) == \
        [{token_id(make({}), "0.30000000000000004", "categorical", "c")}]


def test_a_text_column_of_numbers_reads_as_a_file_writes_them(tmp_path):
    pd = pytest.importorskip("pandas")
    values = [0.1, 2.5, 10001.0]
    frame32 = pd.DataFrame({"t": np.array(values, dtype=np.float32), "y": "a"})
    path = tmp_path / "t.csv"
    frame32.to_csv(path, index=False)
    want = ids_of(make({"t": sb.types.text(tokenizer="char-2")}), [{"t": s, "y": "a"} for s in ("0.1", "2.5", "10001.0")])
    sources = {"float32 frame": frame32, "its to_dict rows": frame32.to_dict("records"), "a file": str(path),
               "float32 scalars": [{"t": np.float32(v), "y": "a"} for v in values]}
    for name, source in sources.items():
        # a widened float32 had tokenized as '0.10000000149011612'
        assert ids_of(make({"t": sb.types.text(tokenizer="char-2")}), source) == want, name
    # float64 numbers a float32 holds exactly keep their own decimals (not '1e+06'), float16's theirs
    for values, dtype in (([1e6, 2.5e9, 1.00048828125, 0.0001220703125], np.float64), ([0.1, 0.3, 2.5], np.float16)):
        frame = pd.DataFrame({"t": np.array(values, dtype=dtype), "y": "a"})
        frame.to_csv(path, index=False)
        from_file = ids_of(make({"t": sb.types.text(tokenizer="char-2")}), str(path))
        assert ids_of(make({"t": sb.types.text(tokenizer="char-2")}), frame) == from_file, dtype
        assert ids_of(make({"c": sb.types.categorical()}), frame.rename(columns={"t": "c"})) == \
            ids_of(make({"c": sb.types.categorical()}), pd.read_csv(path, dtype=str).rename(columns={"t": "c"})), dtype


def test_categorical_values_of_mixed_types_are_each_one_whole_token():
    feat = make({"c": sb.types.categorical()})
    rows = [{"c": v, "y": "a"} for v in ("New York", 1, 1.0, True, " padded", "1", None)]
    ids = [i for i, _ in featurize(feat, rows)]
    assert [len(i) for i in ids] == [1] * 7
    # an integral float is its integer (pandas reads integers with a blank as floats)
    expected = ["New York", "1", "1", "True", " padded", "1"]
    assert [i[0] for i in ids[:6]] == [token_id(feat, x, "categorical", "c") for x in expected]
    assert ids[1] == ids[2] == ids[5] and len({i[0] for i in ids}) == 5
    assert featurize(feat, [{"c": 1.5, "y": "a"}])[0][0] == [token_id(feat, "1.5", "categorical", "c")]
    # as pandas writes such floats to a CSV file; a list is several values, not one
    assert featurize(feat, [{"c": "10001.0", "y": "a"}, {"c": "-0.00", "y": "a"}])[0][0] == \
        [token_id(feat, "10001", "categorical", "c")]
    assert featurize(feat, [{"c": "-0.00", "y": "a"}])[0][0] == [token_id(feat, "0", "categorical", "c")]
    with pytest.raises(ValueError, match="row 0: column 'c': expected one category a row"):
        featurize(feat, [{"c": [1, 2], "y": "a"}])


def test_categorical_known_vocabulary_and_multiple_values():
    feat = make({"c": sb.types.categorical(vocabulary=["red", "blue"], delimiter="|")})
    both, odd, none = featurize(feat, [{"c": "red|blue", "y": "a"}, {"c": "red|green", "y": "a"},
                                       {"c": "green", "y": "a"}])
    assert len(set(both[0])) == 2
    assert set(odd[0]) - set(both[0]) == set(none[0])  # 'green' is outside the vocabulary
    assert odd[0][0] == both[0][0]


def test_numerical_range_bins_clip_and_missing():
    feat = make({"x": sb.types.numerical(range=(0, 10), bins=5, position=False)})
    rows = [{"x": v, "y": "a"} for v in ("0", "1.9", "2", "9.9", "-50", "1e9", None)]
    ids = [i[0] for i, _ in featurize(feat, rows)]
    assert ids[0] == ids[1] != ids[2]
    assert ids[4] == ids[0] and ids[5] == ids[3]
    assert ids[6] not in ids[:6]
    assert feat.edges["x"].tolist() == [2.0, 4.0, 6.0, 8.0]


def test_numerical_quantile_bins_from_the_first_chunk():
    feat = make({"x": sb.types.numerical(bins=4)})
    featurize(feat, [{"x": v, "y": "a"} for v in range(100)])
    assert feat.edges["x"].tolist() == pytest.approx([24.75, 49.5, 74.25])
    featurize(feat, [{"x": 1000, "y": "a"}])  # fitted once
    assert len(feat.edges["x"]) == 3


def test_a_value_filling_most_rows_does_not_swallow_the_bins():
    feat = make({"x": sb.types.numerical(bins=4, position=False)})
    ids = [i[0] for i, _ in featurize(feat, [{"x": v, "y": "a"} for v in [0] * 90 + list(range(10, 20))])]
    assert len(set(ids[90:])) >= 3 and ids[0] not in ids[90:]


def test_a_number_also_gives_its_place_among_the_bin_edges():
    feat = make({"x": sb.types.numerical(range=(0, 10), bins=5)})
    place, = feat.periodic_features()
    rows = featurize(feat, [{"x": v, "y": "a"} for v in (-50, 2, 5, 8, 1e9, None)])
    values = [dict(zip(ids, vals)).get(place) for ids, vals in rows]
    # edges 2, 4, 6, 8 equally spaced over [0, 1]; beyond them, 0 and 1; a missing number has none
    assert values[:5] == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0]) and values[5] is None
    # the place through the periodic embedding replaces the bin token; a missing number keeps its own
    assert all(list(ids) == [place] for ids, _ in rows[:5]) and len(rows[5][0]) == 1
    binned = make({"x": sb.types.numerical(range=(0, 10), bins=5, periodic=False)})
    assert [len(ids) for ids, _ in featurize(binned, [{"x": 5, "y": "a"}, {"x": None, "y": "a"}])] == [2, 1]
    alone = make({"x": sb.types.numerical(range=(0, 10), bins=5, position=False)})
    assert [len(ids) for ids, _ in featurize(alone, [{"x": 5, "y": "a"}])] == [1]


def test_places_follow_the_order_of_the_numbers():
    feat = make({"x": sb.types.numerical(bins=8)})
    place, = feat.periodic_features()
    x = [3.0, -1.0, 10.0, 7.5, 0.0, 2.0, 11.0, 4.0] * 10
    values = [dict(zip(ids, vals))[place] for ids, vals in featurize(feat, [{"x": v, "y": "a"} for v in x])]
    assert np.all(np.diff(np.array(values)[np.argsort(x, kind="stable")]) >= 0)
    assert min(values) == 0.0 and max(values) == 1.0


def test_the_periodic_places_own_the_last_ids_which_no_token_takes():
    # 64 ids: hundreds of words and categories collide everywhere, never onto a place
    types = {"t": sb.types.text("words"), "c": sb.types.categorical(), "x": sb.types.numerical(),
             "u": sb.types.numerical(periodic=False), "z": sb.types.numerical()}
    feat = make(types, dim=64)
    assert feat.periodic_columns() == ["x", "z"] and feat.periodic_features() == [62, 63]
    rows = [{"t": " ".join(f"w{i}_{k}" for k in range(20)), "c": f"c{i}", "x": i, "u": -i, "z": i % 7, "y": "a"}
            for i in range(60)]
    out = featurize(feat, rows)
    for row, (ids, vals) in zip(rows, out):
        places = {i: v for i, v in zip(ids, vals) if i >= 62}
        assert sorted(places) == [62, 63]  # one entry each: the two places, nothing else up there
        assert len([i for i in ids if i >= 62]) == 2 and min(ids) >= 0
    # x rises with the row, so its place does; z's repeats every seven rows
    assert np.all(np.diff([dict(zip(*r))[62] for r in out]) >= 0)
    assert [dict(zip(*r))[63] for r in out][:7] == [dict(zip(*r))[63] for r in out][7:14]
    # a config written before the places were reserved hashes them like tokens
    old = make(types, dim=64)
    cfg = json.loads(json.dumps(feat.get_config()))
    del cfg["reserved_positions"]
    old.set_config(cfg)
    assert old.periodic_features() == sorted({old._salt("position", c) % 64 for c in ("x", "z")})
    assert {i for ids, _ in featurize(old, rows[:3], "predict") for i in ids} >= set(old.periodic_features())


def test_the_input_must_be_wider_than_its_periodic_places():
    types = {"x": sb.types.numerical(), "z": sb.types.numerical(), "y": sb.types.categorical()}
    with pytest.raises(ValueError, match=r"The 'input_dim' parameter of UniversalDeepTransformer must be an int "
                                         r"greater than its number of periodic numerical columns \(2\). Got 2 instead."):
        sb.UniversalDeepTransformer(types, target="y", input_dim=2)
    assert sb.UniversalDeepTransformer(types, target="y", input_dim=3).featurizer.periodic_features() == [1, 2]
    # exact values' target means take ids of their own only where the input has room for them
    rows = [{"x": r["h"], "z": r["s"], "y": r["y"]} for r in _households(np.random.default_rng(0))]
    for dim, means in ((3, []), (5, ["x"])):
        udt = sb.UniversalDeepTransformer(types, target="y", input_dim=dim)
        udt.train(rows, epochs=1, verbose=False)
        assert udt.featurizer.stat_columns() == means and "x" in udt.featurizer.exact_values
        assert udt.model.layer("embedding").features == udt.featurizer.periodic_features()


@pytest.mark.parametrize("n_values, bins", [(1, 2), (8, 3), (100, 7), (1000, 15), (18_000, 39), (19_000, 40),
                                             (10 ** 6, 40)])
def test_automatic_bins_grow_with_the_cube_root_of_the_values(n_values, bins):
    assert sb.types.numerical().n_bins(n_values) == bins
    assert sb.types.numerical(bins=12).n_bins(n_values) == 12
    assert sb.types.numerical().n_bins() == 40  # a range


def test_a_small_first_chunk_gets_fewer_bins():
    small = make({"x": sb.types.numerical()})
    featurize(small, [{"x": v, "y": "a"} for v in range(100)])
    assert len(small.edges["x"]) == 6  # 7 bins
    given = make({"x": sb.types.numerical(bins=40)})
    featurize(given, [{"x": v, "y": "a"} for v in range(100)])
    assert len(given.edges["x"]) == 39
    # a first chunk of a larger (or streamed) source is a sample of it: 40 bins
    from sparsebolt.data.csv import read_chunks
    sampled = make({"x": sb.types.numerical()})
    first = next(read_chunks([{"x": v, "y": "a"} for v in range(100)], sampled.columns(True), 50))
    assert not first.whole
    sampled.transform(first, "train")
    assert len(sampled.edges["x"]) == 39


def test_a_bad_number_names_its_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,a\n2,a\nabc,a\n")
    feat = make({"x": sb.types.numerical()})
    with pytest.raises(DataFormatError, match=r"d\.csv, line 4: column 'x': expected a number, got 'abc'"):
        featurize(feat, str(path))


def test_pandas_missing_markers_are_missing_numbers_and_dates(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,d,c,y\n1,2024-01-01,NA,a\nNA,NA,NA,a\n NaN ,null,b,a\nN/A,,b,a\n,None,b,a\n")
    feat = make({"x": sb.types.numerical(range=(0, 2), bins=2), "d": sb.types.date(),
                 "c": sb.types.categorical()})
    rows = [sorted(ids) for ids, _ in featurize(feat, str(path))]
    # the markers read as the empty fields do
    assert rows[2] == rows[3] == rows[4]
    # in a categorical column 'NA' is a value (Namibia), not the missing token
    assert len(set(rows[1]) - set(rows[2])) == 1 and set(rows[1]) - set(rows[2]) <= set(rows[0])
    _, missing = parse_times("d", sb.types.date(), ["2024-01-01", "NA", "null", "NaN"], None)
    assert missing.tolist() == [False, True, True, True]


def test_numbers_read_as_python_reads_them():
    feat = make({"x": sb.types.numerical(range=(0, 2000), bins=4000)})
    spelled = [" 2 ", "2.0", "1_000", "1e3", 1000, 2.0, None]
    plain = [2.0, 2.0, 1000.0, 1000.0, 1000.0, 2.0, None]
    assert featurize(feat, [{"x": v, "y": "a"} for v in spelled]) == \
        featurize(feat, [{"x": v, "y": "a"} for v in plain])


def test_date_parts():
    secs, missing = parse_times("d", sb.types.date(), ["2024-01-01", "1970-01-01", "2023-12-31T23:00:00", None],
                                None)
    parts = date_parts(secs)
    assert parts[0].tolist() == [0, 1, 0, 0, 2024]     # a Monday
    assert parts[1].tolist() == [3, 1, 0, 0, 1970]     # a Thursday
    assert parts[2].tolist() == [6, 12, 52, 4, 2023]   # a Sunday, day 365
    assert missing.tolist() == [False, False, False, True]


@pytest.mark.parametrize("fmt, value", [("iso", "2024-03-05"), ("unix", "1709596800"), ("%d/%m/%Y", "05/03/2024")])
def test_date_formats_agree(fmt, value):
    iso = make({"d": sb.types.date()})
    other = make({"d": sb.types.date(format=fmt)})
    assert featurize(iso, [{"d": "2024-03-05", "y": "a"}]) == featurize(other, [{"d": value, "y": "a"}])


def test_date_features_and_bad_date(tmp_path):
    feat = make({"d": sb.types.date()})
    a, b, missing = ids_of(feat, [{"d": "2024-03-05", "y": "a"}, {"d": "2024-03-12", "y": "a"}, {"y": "a"}])
    # a week apart: same weekday, month and year; the bins of their place in time differ
    # (one edge between two dates: no place feature, which needs two)
    assert len(a) == 6 and len(a & b) == 3 and feat.date_edges["d"].shape == (1,)
    assert len(missing) == 1 and not missing & a
    path = tmp_path / "d.csv"
    path.write_text('d,y\n2024-03-05,a\n"2024-13-45",a\n')
    with pytest.raises(DataFormatError, match=r"line 3: column 'd': cannot read '2024-13-45' as a date"):
        featurize(feat, str(path))


def test_cross_column_pairgrams():
    types = {"a": sb.types.categorical(), "b": sb.types.categorical(), "c": sb.types.categorical()}
    plain = make(types)
    pairs = make(types, cross_column_pairgrams=True)
    row = [{"a": "1", "b": "2", "c": "3", "y": "a"}]
    assert len(ids_of(plain, row)[0]) == 3
    assert len(ids_of(pairs, row)[0]) == 6


def _graph():
    return make({"node": sb.types.node_id(), "t": sb.types.text("words"), "nbrs": sb.types.neighbors()})


def test_neighbors_bring_their_ids_and_their_indexed_features():
    feat = _graph()
    feat_index = [{"node": "x", "t": "zebra"}, {"node": "z", "t": "apple", "nbrs": "x"}]
    from sparsebolt.data.csv import read_chunks
    for chunk in read_chunks(feat_index, feat.columns(False), 100):
        feat.index_nodes(chunk)
    (ids, vals), = featurize(feat, [{"node": "q", "t": "pear", "nbrs": "x", "y": "a"}])
    x_token = token_id(feat, "x", "graph", "node")
    assert x_token in ids
    (alone, _), = featurize(feat, [{"node": "q", "t": "pear", "y": "a"}])
    extra = set(ids) - set(alone)
    assert extra == {x_token} | {i for i in extra if i != x_token} and len(extra) == 2  # x's id and 'zebra'
    # the neighbor's text arrives under a salt of its own: not the same id as 'zebra' in the row's text
    (zebra, _), = featurize(feat, [{"node": "w", "t": "zebra", "y": "a"}])
    assert not (extra - {x_token}) & set(zebra)
    # a node's own id is the same token other rows see for it as a neighbor
    (own, _), = featurize(feat, [{"node": "x", "t": "zebra", "y": "a"}])
    assert x_token in own


def test_a_row_without_neighbors_uses_the_indexed_ones():
    feat = _graph()
    from sparsebolt.data.csv import read_chunks
    for chunk in read_chunks([{"node": "z", "t": "apple", "nbrs": "x y"}], feat.columns(False), 100):
        feat.index_nodes(chunk)
    (given, _), = featurize(feat, [{"node": "z", "t": "apple", "nbrs": "x y", "y": "a"}])
    (looked_up, _), = featurize(feat, [{"node": "z", "t": "apple", "y": "a"}])
    assert set(given) == set(looked_up)
    assert token_id(feat, "y", "graph", "node") in given


def test_labels_string_int_and_multi_label():
    feat = make({"t": sb.types.text("words")}, target="y")
    from sparsebolt.data.csv import read_chunks
    chunk = next(read_chunks([{"t": "a", "y": "cat"}, {"t": "b", "y": "dog"}, {"t": "c", "y": "cat"}],
                             ["t", "y"], 10))
    _, _, _, labels, _ = feat.transform(chunk, "train")
    assert labels.ids.tolist() == [0, 1, 0] and feat.labels.labels == ["cat", "dog"]
    multi = make({"t": sb.types.text("words")}, target="y")
    multi.labels.delimiter = ";"
    chunk = next(read_chunks([{"t": "a", "y": "cat;dog"}, {"t": "b", "y": "dog"}], ["t", "y"], 10))
    _, _, _, labels, _ = multi.transform(chunk, "train")
    assert np.diff(labels.offsets).tolist() == [2, 1] and labels.ids.tolist() == [0, 1, 1]
    chunk = next(read_chunks([{"t": "a", "y": "cat;bird"}], ["t", "y"], 10))
    _, _, _, labels, unknown = multi.transform(chunk, "eval")
    assert labels.ids.tolist() == [0] and unknown == 1


def test_auto_text_gets_character_ngrams_only_when_short():
    short, long = sb.types.text(), sb.types.text()
    featurize(make({"t": short}), [{"t": "domestic dog", "y": "a"}, {"t": "a large body of salt water", "y": "b"}])
    featurize(make({"t": long}), [{"t": " ".join(["word"] * 30), "y": "a"}])
    assert short.tokenizers == ["words", "char_wb-3", "char_wb-4", "char_wb-5"] and short.weighting == "tfidf"
    assert long.tokenizers == ["words"] and long.weighting == "sqrt"
    assert sb.types.text().get_config()["tokenizer"] == "auto"
    again = sb.automl.types.resolve("m", "t", short.get_config())
    assert again.tokenizers == short.tokenizers and again.weighting == "tfidf"
    assert sb.types.text("words").weighting == "sqrt"


def test_distinct_values_keep_their_first_appearance_and_each_nan_its_own_code():
    nan = float("nan")
    values = ["b", None, "a", "b", nan, nan, 1, 1.0, True]
    distinct, index = _distinct(values)
    assert distinct[:3] == ["b", None, "a"] and distinct[3] is nan and distinct[4] == 1
    assert index.tolist() == [0, 1, 2, 0, 3, 3, 4, 4, 4] and index.dtype == np.int64
    # a one-pass iterable or an array (whose items are made afresh each pass) works as a list
    distinct, index = _distinct(np.array([1.0, np.nan, 1.0, np.nan]))
    assert distinct[0] == 1.0 and len(distinct) == 3 and index.tolist() == [0, 1, 0, 2]
    assert _distinct(iter(["x", "y", "x"]))[1].tolist() == [0, 1, 0]


def test_a_csv_featurizes_the_same_through_the_compiled_reader_and_the_csv_module(tmp_path, monkeypatch):
    # the compiled reader's codes stand in for the categorical and numerical columns' values
    rng = np.random.default_rng(0)
    lines = ["c,x,z,t,y"]
    for i in range(300):
        c = rng.choice(["red", '"red"', "", "blue", '"a, b"', '"say ""hi"""', "NA"])
        x = rng.choice(["1", " 2.5 ", "", "1e3", '"3"', str(rng.integers(100))])
        z = rng.choice(["1", "", "NA", str(rng.integers(100))])  # a marker: parsed value by value
        t = rng.choice(["a dog", '"a dog, barking"', "", "cat"])
        y = rng.choice(["p", "q", '"q"'])
        lines.append(f"{c},{x},{z},{t},{y}")
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    types = {"c": sb.types.categorical(), "x": sb.types.numerical(), "z": sb.types.numerical(),
             "t": sb.types.text()}
    compiled = featurize(make(types), str(path))
    monkeypatch.setattr(csv_reader, "_scan", lambda *a: None)
    assert featurize(make(types), str(path)) == compiled


def _households(rng, n_households=200, rows_each=5):
    """Rows of households: 'h' a household's income (one random value each, its label's only
    clue), 's' a smooth number that decides nothing, each row its own value."""
    income = rng.uniform(1000, 2000, n_households).round(2)
    label = rng.integers(0, 2, n_households)
    return [{"h": income[k], "s": rng.normal(), "y": "ab"[label[k]]}
            for k in range(n_households) for _ in range(rows_each)]


def test_exact_values_get_a_token_where_they_predict_the_target_better_than_the_bins():
    rows = _households(np.random.default_rng(0)) + [{"h": 1500.5, "s": 0.0, "y": "a"}]
    feat = make({"h": sb.types.numerical(), "s": sb.types.numerical()})
    out = featurize(feat, rows)
    assert sorted(feat.exact_values) == ["h"]  # 's' repeats no value; its bins say as much
    rows = rows[:-1]  # a value held once gets no token of its own
    # matched at float32 precision
    assert feat.exact_values["h"].tolist() == sorted({float(np.float32(r["h"])) for r in rows})
    token = token_of(feat, "h", out)
    once = token.pop(len(rows))
    assert len({token[i] for i in range(0, 5)}) == 1 and token[0] != token[5]  # a household's rows share theirs
    new = featurize(feat, [{"h": 1.5, "s": 0.0, "y": "a"}, {"h": 2.5, "s": 0.0, "y": "a"},
                           {"h": rows[7]["h"], "s": 0.0, "y": "a"}, {"h": None, "s": 0.0, "y": "a"}], "predict")
    other = token_of(feat, "h", new)
    assert other[0] == other[1] == once and once not in token.values()  # unseen values share one token
    assert other[2] == token[7] and 3 not in other  # a missing number has none


def token_of(feat, column, out):
    """{row: the id of its exact-value token of ``column``} (the token salted with it)."""
    from sparsebolt.kernels.featurize import int_hashes
    known = feat.exact_values[column]
    ids = {int(h % feat.input_dim) for h in int_hashes(np.arange(-1, known.shape[0], dtype=np.int64),
                                                        feat._salt("exact", column))}
    return {i: next(t for t in row if t in ids) for i, (row, _) in enumerate(out) if ids & set(row)}


def test_exact_values_follow_the_type_not_the_gain_when_told():
    rows = _households(np.random.default_rng(1))
    never = make({"h": sb.types.numerical(exact=False), "s": sb.types.numerical()})
    featurize(never, rows)
    assert never.exact_values == {}
    always = make({"h": sb.types.numerical(), "s": sb.types.numerical(exact=True)})
    featurize(always, [{**r, "s": round(r["s"], 1)} for r in rows])
    assert sorted(always.exact_values) == ["h", "s"]
    # values held once only get no token of their own, so nothing is kept
    unique = make({"s": sb.types.numerical(exact=True)})
    featurize(unique, rows)
    assert unique.exact_values == {}


def test_a_target_of_several_labels_a_row_gives_no_exact_values_by_default():
    rows = [{**r, "y": r["y"] + "|c"} for r in _households(np.random.default_rng(2))]
    feat = make({"h": sb.types.numerical(), "y": sb.types.categorical(delimiter="|")})
    featurize(feat, rows)
    assert feat.exact_values == {}


def _prices(rng, n=2000, values=15):
    """Rows of a price of ``values`` levels whose class each level sets at random (90%
    of its rows), so no smooth function of the price follows it."""
    level = rng.integers(0, values, n)
    flip = rng.integers(0, 2, values)
    y = np.where(rng.random(n) < 0.9, flip[level], 1 - flip[level])
    return [{"p": 1.0 + 0.05 * int(k), "y": "ab"[int(c)]} for k, c in zip(level, y)]


@pytest.mark.parametrize("periodic", [True, False])
def test_exact_values_must_beat_the_parts_of_a_number_the_network_tells_apart(periodic):
    rows = _prices(np.random.default_rng(0))
    feat = make({"p": sb.types.numerical(periodic=periodic)})
    feat.decide_numbers([chunk_of(feat, rows)], regions=4)
    edges = feat.edges["p"]
    assert np.unique(np.searchsorted(edges, np.unique([r["p"] for r in rows]), side="right")).shape[0] == 15
    seen = feat._seen_edges("p", 4)
    if periodic:
        # its bins hold one price each, but the smooth function that replaces them tells 4
        # parts of its place apart, and each price's own class beats those by far
        x = np.array([r["p"] for r in rows])
        part = np.searchsorted(seen, x, side="right")
        place = np.interp(x, edges, np.linspace(0.0, 1.0, edges.shape[0]))  # as the network gets it
        assert np.unique(part).shape[0] == 4
        assert all(np.ptp(place[part == k]) <= 0.25 + 1e-9 for k in range(4))
        assert sorted(feat.exact_values) == ["p"]
    else:  # its bin tokens tell each price apart: its tokens would repeat them
        assert seen is edges and feat.exact_values == {}
    # as many parts as its edges or more, or none given (a Featurizer on its own): the bins
    assert feat._seen_edges("p", edges.shape[0]) is edges and feat._seen_edges("p") is edges
    parts = [np.unique(np.searchsorted(feat._seen_edges("p", r), edges)).shape[0] + 1 for r in range(2, 20)]
    assert parts == sorted(parts)  # never fewer parts for more regions


def test_exact_value_gain_is_held_out_log_loss_saved_over_the_bins():
    from sparsebolt.automl.featurize import exact_value_gain
    rng = np.random.default_rng(3)
    rows = _households(rng, 400)
    x = np.array([r["h"] for r in rows])
    labels = np.array([r["y"] == "b" for r in rows], dtype=np.int64)
    edges = np.quantile(x, np.linspace(0, 1, 41)[1:-1])
    planted = exact_value_gain(x, labels, edges, 0)
    # a value names its label on 4 of its 5 rows: nearly log 2 nats a row saved
    assert 0.4 < planted < np.log(2)
    assert exact_value_gain(x, labels, edges, 0) == planted  # the halves follow the seed
    # a label that rises smoothly with the number: its bin says as much as its value
    smooth = rng.normal(size=4000).round(2)
    rising = (rng.random(4000) < 1 / (1 + np.exp(-2 * smooth))).astype(np.int64)
    assert exact_value_gain(smooth, rising, np.quantile(smooth, np.linspace(0, 1, 41)[1:-1]), 0) < 0
    x[:100] = np.nan  # missing rows count for neither
    assert 0.4 < exact_value_gain(x, labels, edges, 0) < np.log(2)


def _teachers(rng, n=3000):
    """A school (30) and a teacher's years (20) name a teacher, whose class type (of three)
    the row's label is; either number alone tells nothing of it. 'noise' is a third number
    of few values that names nothing."""
    school, years = rng.integers(0, 30, n), rng.integers(0, 20, n)
    kind = np.random.default_rng(99).integers(0, 3, (30, 20))
    return [{"school": float(a), "years": float(b), "noise": float(c), "y": f"k{kind[a, b]}"}
            for a, b, c in zip(school, years, rng.integers(0, 25, n))]


def test_two_numbers_that_name_the_target_only_together_get_a_token_of_their_pair(monkeypatch):
    from sparsebolt.automl.featurize import exact_pair_gains, exact_value_gain
    rows = _teachers(np.random.default_rng(5))
    x = {c: np.array([r[c] for r in rows]) for c in ("school", "years", "noise")}
    labels = np.array([int(r["y"][1:]) for r in rows], dtype=np.int64)
    edges = {c: np.unique(np.quantile(v, np.linspace(0, 1, 9)[1:-1])) for c, v in x.items()}
    alone = [exact_value_gain(x[c], labels, edges[c], 0, 2.0) for c in ("school", "years")]
    assert max(alone) < 0.005

    def pair_gain(a, b, edges):
        values = {c: np.unique(x[c], return_inverse=True)[1] for c in (a, b)}
        bins = {c: np.searchsorted(edges[c], x[c], side="right") for c in (a, b)}
        return exact_pair_gains(values, bins, [(a, b)], labels, 0, 2.0)[0]
    assert pair_gain("school", "years", edges) > 0.3  # the teacher's class: near log 3 nats a row, less a prior's
    assert pair_gain("school", "noise", edges) < 0.005
    # bins holding one value each: the network has no token of a pair of bins, so as much to gain
    fine = {c: np.unique(x[c])[:-1] + 0.5 for c in ("school", "years")}
    assert pair_gain("school", "years", fine) > 0.3
    feat = make({"school": sb.types.numerical(), "years": sb.types.numerical(), "noise": sb.types.numerical()})
    out = featurize(feat, rows + [{"school": 0.0, "years": 25.0, "noise": 0.0, "y": "k0"}])
    assert feat.exact_values == {} and list(feat.exact_pairs) == [("school", "years")]
    n_pairs = feat.exact_pairs[("school", "years")].shape[0]
    assert 500 < n_pairs <= 600  # the teachers of two rows or more (5 a teacher on average)
    # rows of one teacher share a token no other row has; a pair never held shares the unseen one
    from sparsebolt.kernels.featurize import int_hashes
    token = {int(h % feat.input_dim): i for i, h in
             enumerate(int_hashes(np.arange(-1, n_pairs, dtype=np.int64), feat._salt("exactpair", "school", "years")))}
    teacher = [next(token[t] for t in ids if t in token) for ids, _ in out]
    same = [i for i, r in enumerate(rows) if (r["school"], r["years"]) == (rows[0]["school"], rows[0]["years"])]
    assert len(same) > 1 and {teacher[i] for i in same} == {teacher[0]} and teacher.count(teacher[0]) == len(same)
    assert teacher[-1] == 0  # the unseen pair's token (-1's, the first hashed)
    # a column told not to, or of more values than pairs are weighed for: no pair
    pair = [{k: r[k] for k in ("school", "years", "y")} for r in rows]
    feat = make({"school": sb.types.numerical(exact=False), "years": sb.types.numerical()})
    featurize(feat, pair)
    assert feat.exact_pairs == {}
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_PAIR_MAX_VALUES", 25)
    feat = make({"school": sb.types.numerical(), "years": sb.types.numerical()})
    featurize(feat, pair)
    assert feat.exact_pairs == {}


def test_two_columns_whose_bins_tell_their_values_apart_still_get_a_token_of_their_pair():
    # 12 x 10 values, a bin each: the network sees one bin token a column, never the pair
    rng = np.random.default_rng(7)
    kind = np.random.default_rng(98).integers(0, 3, (12, 10))
    a, b = rng.integers(0, 12, 3000), rng.integers(0, 10, 3000)
    rows = [{"a": float(i), "b": float(j), "y": f"k{kind[i, j]}"} for i, j in zip(a, b)]
    feat = make({"a": sb.types.numerical(), "b": sb.types.numerical()})
    featurize(feat, rows)
    assert all(feat.edges[c].shape[0] + 1 >= 10 for c in ("a", "b")) and list(feat.exact_pairs) == [("a", "b")]


def test_no_pairs_weighed_for_more_classes_than_their_tables_hold_nor_for_one_row():
    import warnings
    rng = np.random.default_rng(8)
    kind = np.random.default_rng(97).permutation(120).reshape(12, 10)  # a class a pair of values
    a, b = rng.integers(0, 12, 3000), rng.integers(0, 10, 3000)
    rows = [{"a": float(i), "b": float(j), "y": f"k{kind[i, j]}"} for i, j in zip(a, b)]
    feat = make({"a": sb.types.numerical(), "b": sb.types.numerical()})
    featurize(feat, rows)
    assert feat.exact_pairs == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an empty half's mean had warned
        sb.UniversalDeepTransformer({"a": sb.types.numerical(), "b": sb.types.numerical(), "y": sb.types.numerical()},
                                    target="y").train([{"a": 1.0, "b": 2.0, "y": 1.0}], epochs=1, verbose=False)


def test_pair_vocabulary_and_codes_match_a_count_and_a_lookup_by_hand():
    from collections import Counter

    from sparsebolt.automl.featurize import exact_keys, exact_pair_codes, exact_pair_index, exact_pair_vocabulary
    rng = np.random.default_rng(4)
    xa, xb = rng.integers(-20, 20, 5000) / 4.0, rng.integers(0, 90, 5000) * 0.1
    xa[::9], xb[::13] = np.nan, np.nan
    xa[:50] = -0.0
    held = Counter((a, b) for a, b in zip(exact_keys(xa), exact_keys(xb)) if not (np.isnan(a) or np.isnan(b)))
    pairs = exact_pair_vocabulary(xa, xb)
    assert [tuple(p) for p in pairs] == sorted(k for k, n in held.items() if n > 1)
    place = {tuple(p): i for i, p in enumerate(pairs)}
    ya, yb = rng.integers(-25, 25, 3000) / 4.0, rng.integers(0, 95, 3000) * 0.1  # some never held
    ya[::7], yb[::11] = np.nan, np.inf
    expected = [place.get((a, b), -1) for a, b in zip(exact_keys(ya), exact_keys(yb))]
    assert exact_pair_codes(exact_pair_index(pairs), ya, yb).tolist() == expected
    assert -1 in expected and len(set(expected)) > 300  # both kinds of row


def test_only_the_pairs_of_the_largest_gains_get_tokens(monkeypatch):
    # 'copy' is the school on 90% of rows: its pair with the years passes with a smaller gain
    rows = _teachers(np.random.default_rng(5))
    rng = np.random.default_rng(6)
    for r in rows:
        r["copy"] = r["school"] if rng.random() < 0.9 else float(rng.integers(0, 30))
    types = {c: sb.types.numerical() for c in ("school", "years", "copy")}
    feat = make(types)
    featurize(feat, rows)
    assert set(feat.exact_pairs) == {("school", "years"), ("years", "copy")}
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_MAX_PAIRS", 1)
    feat = make(types)
    featurize(feat, rows)
    assert list(feat.exact_pairs) == [("school", "years")]


def test_of_many_columns_those_that_tell_most_alone_are_weighed_in_pairs(monkeypatch):
    # the pair (a, b) names the label in one corner and each number also tells it alone
    # elsewhere; 'n1' and 'n2' tell nothing. Two columns weighed: a and b, one pair test
    from sparsebolt.automl import featurize as F
    rng = np.random.default_rng(3)
    kind = np.random.default_rng(99).integers(0, 3, (30, 20))
    kind[15:, :], kind[:15, 10:] = 0, 1
    a, b = rng.integers(0, 30, 3000), rng.integers(0, 20, 3000)
    rows = [{"n1": float(c), "a": float(i), "n2": float(d), "b": float(j), "y": f"k{kind[i, j]}"}
            for i, j, c, d in zip(a, b, rng.integers(0, 25, 3000), rng.integers(0, 25, 3000))]
    tested = []
    real = F.exact_pair_gains
    monkeypatch.setattr(F, "exact_pair_gains", lambda values, alone, pairs, *rest: tested.extend(pairs) or
                        real(values, alone, pairs, *rest))
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_PAIR_MAX_COLUMNS", 2)
    feat = make({c: sb.types.numerical() for c in ("n1", "a", "n2", "b")})
    featurize(feat, rows)
    assert list(feat.exact_pairs) == [("a", "b")] and len(tested) == 1
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_PAIR_MAX_COLUMNS", 4)
    tested.clear()
    featurize(make({c: sb.types.numerical() for c in ("n1", "a", "n2", "b")}), rows)
    assert len(tested) == 6


def test_a_gain_of_a_few_rows_must_stand_clear_of_its_standard_error():
    # 124 rows of a number rounded to tenths whose label rises smoothly with it (wine's size):
    # its values repeat by chance, and on 11 of 200 draws they seem to beat the bins
    from sparsebolt.automl.featurize import exact_value_gain
    from sparsebolt.automl.types import Numerical
    by_chance = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=124).round(1)
        labels = (x + rng.normal(size=124) > 0).astype(np.int64)
        edges = np.unique(np.quantile(x, np.linspace(0, 1, 8)[1:-1]))
        by_chance.append((exact_value_gain(x, labels, edges, 0), exact_value_gain(x, labels, edges, 0, Numerical.EXACT_Z)))
    gains, bounds = np.array(by_chance).T
    assert (gains > Numerical.EXACT_MIN_GAIN).sum() == 11 and (bounds > Numerical.EXACT_MIN_GAIN).sum() == 0
    assert np.all(bounds < gains)


def test_exact_values_are_decided_on_the_first_training_chunk_only():
    rows = _households(np.random.default_rng(4))
    for exact in ("auto", True):
        feat = make({"h": sb.types.numerical(exact=exact), "s": sb.types.numerical()})
        featurize(feat, rows[:50], "predict")  # fits the edges, decides nothing
        assert feat.exact_values == {} and "h" in feat.exact_undecided
        featurize(feat, rows)
        assert len(feat.exact_values["h"]) == 200 and not feat.exact_undecided
    # a graph model indexes its nodes before training (mode 'index', no labels)
    graph = [{**r, "node": f"n{i}", "nbrs": f"n{i + 1}"} for i, r in enumerate(rows)]
    feat = make({"node": sb.types.node_id(), "nbrs": sb.types.neighbors(), "h": sb.types.numerical()})
    for chunk in csv_reader.read_chunks(graph, feat.columns(True), 1 << 16):
        feat.index_nodes(chunk)
    assert feat.exact_values == {}
    featurize(feat, graph)
    assert len(feat.exact_values["h"]) == 200


def test_exact_values_match_at_float32_precision():
    import pandas as pd
    rows = _households(np.random.default_rng(5))
    feat = make({"h": sb.types.numerical()})
    out = featurize(feat, pd.DataFrame(rows).astype({"h": "float32"}))
    later = featurize(feat, [{"h": float(r["h"])} for r in rows[:20]], "predict")
    assert token_of(feat, "h", later) == {i: t for i, t in token_of(feat, "h", out).items() if i < 20}


def test_auto_takes_no_column_whose_bins_hold_one_value_each():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 10, 1000)
    rows = [{"x": int(v), "y": "ab"[v % 2]} for v in x]  # the label is the value's, and so its bin's
    auto, forced = make({"x": sb.types.numerical()}), make({"x": sb.types.numerical(exact=True)})
    featurize(auto, rows), featurize(forced, rows)
    assert auto.exact_values == {} and forced.exact_values["x"].tolist() == list(range(10))


def test_a_target_with_a_delimiter_decides_no_exact_values_even_with_one_label_a_row():
    feat = make({"h": sb.types.numerical(), "y": sb.types.categorical(delimiter="|")})
    featurize(feat, _households(np.random.default_rng(7)))
    assert feat.exact_values == {}


def test_exact_vocabulary_follows_the_gain_threshold_its_standard_errors_and_the_cap(monkeypatch):
    from sparsebolt.automl.featurize import exact_vocabulary
    from sparsebolt.automl.types import Numerical
    rng = np.random.default_rng(14)  # a draw whose bare gain passes by chance (see above)
    x = rng.normal(size=124).round(1)
    labels = (x + rng.normal(size=124) > 0).astype(np.int64)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, 8)[1:-1]))
    auto = sb.types.numerical()
    assert exact_vocabulary(x, auto, labels, edges, 0) is None
    monkeypatch.setattr(Numerical, "EXACT_Z", 0.0)
    assert exact_vocabulary(x, auto, labels, edges, 0) is not None
    monkeypatch.setattr(Numerical, "EXACT_MIN_GAIN", 1.0)
    assert exact_vocabulary(x, auto, labels, edges, 0) is None
    monkeypatch.setattr(Numerical, "MAX_EXACT_VALUES", 2)
    counts = np.array([5.0] * 2 + [1.0] * 5 + [2.0] * 4 + [3.0] * 3 + [4.0] * 2)
    assert exact_vocabulary(counts, sb.types.numerical(exact=True), None, edges, 0).tolist() == [1.0, 2.0]


def test_the_pair_counts_of_many_values_and_classes_agree_with_the_dense_count():
    from sparsebolt.automl.featurize import _smoothed_probability
    rng = np.random.default_rng(8)
    keys, labels = rng.integers(0, 300, 5000), rng.integers(0, 7, 5000)
    rows, other = np.arange(2500), np.arange(2500, 5000)
    base = rng.uniform(0.1, 0.9, 2500)
    dense = _smoothed_probability(keys, 300, labels, 7, rows, other, base)
    sparse = _smoothed_probability(keys, 1 << 20, labels, 7, rows, other, base)  # 7M cells: pairs that occur
    np.testing.assert_array_equal(dense, sparse)
    assert not np.array_equal(dense, base)


def test_a_numerical_target_gates_exact_values_by_the_squared_error_they_save():
    # the household names which half of the range its target lies in; 10 target bins, a
    # value on 4 rows of a half: class frequencies over the bins were too noisy to see it
    # (-0.25 nats), the bins' means are not
    rng = np.random.default_rng(9)
    income = rng.uniform(1000, 2000, 500).round(2)
    half = rng.integers(0, 2, 500)
    rows = [{"income": income[k], "y": float(half[k] * 10 + rng.normal())} for k in range(500) for _ in range(4)]
    feat = make({"income": sb.types.numerical(), "y": sb.types.numerical()})
    featurize(feat, rows)
    assert len(feat.exact_values["income"]) == 500
    from sparsebolt.automl.featurize import exact_value_gain
    x = np.array([r["income"] for r in rows])
    y = np.array([r["y"] for r in rows])
    assert 0.2 < exact_value_gain(x, y, feat.edges["income"], 0, 2.0) < 0.5
    # a target that rises smoothly with a rounded number: no gain, whatever the draw
    for seed in range(50):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=124).round(1)
        edges = np.unique(np.quantile(x, np.linspace(0, 1, 8)[1:-1]))
        assert exact_value_gain(x, x + rng.normal(size=124), edges, 0, 2.0) < 0.005


def chunk_of(feat, rows):
    from sparsebolt.data.csv import read_chunks
    return next(read_chunks(rows, feat.columns(True), 1 << 16, optional=feat.optional_columns()))


def decided(types, rows, **kw):
    """A Featurizer whose numbers were decided on ``rows`` as a UniversalDeepTransformer
    decides them before it builds its network (target means included)."""
    feat = make(types, **kw)
    feat.decide_numbers([chunk_of(feat, rows)])
    return feat


def stat_of(feat, column, out):
    """{row: the value of its exact value's target-mean place of ``column``}."""
    fid = feat.input_dim + feat._position_hash(column, "stat")
    return {i: vals[ids.index(fid)] for i, (ids, vals) in enumerate(out) if fid in ids}


def test_exact_values_give_their_target_mean_without_a_training_rows_own_fold():
    from sparsebolt.automl.featurize import STAT_PRIOR
    rows = _households(np.random.default_rng(0)) + [{"h": 1500.5, "s": 0.0, "y": "a"}]
    feat = decided({"h": sb.types.numerical(), "s": sb.types.numerical()}, rows)
    train = stat_of(feat, "h", featurize(feat, rows))
    assert feat.stat_columns() == ["h"]
    # after the places of 'h' and 's', the mean of 'h': the last ids, which no token takes
    assert feat.periodic_features() == [DIM - 3, DIM - 2, DIM - 1]
    assert feat._position_hash("h", "stat") == -1
    h = np.array([r["h"] for r in rows])
    y = np.array([r["y"] == feat.labels.labels[1] for r in rows], dtype=np.float64)  # class 1's share
    folds, base = feat.row_folds(chunk_of(feat, rows)), y.mean()
    evaluated = stat_of(feat, "h", featurize(feat, rows, "eval"))
    for i in range(len(rows)):
        same = h == h[i]
        other = same & (folds != folds[i])  # a training row's own fold, itself in it, is left out
        if other.any():
            assert train[i] == pytest.approx((y[other].sum() + STAT_PRIOR * base) / (other.sum() + STAT_PRIOR))
        else:
            assert i not in train
        assert evaluated[i] == pytest.approx((y[same].sum() + STAT_PRIOR * base) / (same.sum() + STAT_PRIOR))
    assert len(rows) - 1 in evaluated  # a value held once still has its row's mean
    unseen = featurize(feat, [{"h": 1.5, "s": 0.0, "y": "a"}, {"h": None, "s": 0.0, "y": "a"}], "predict")
    assert stat_of(feat, "h", unseen) == {}


def test_a_training_rows_own_label_never_reaches_its_target_mean():
    # labels drawn at random, 4 rows a value: the mean a training row sees is no clue to its
    # own label, the mean over every row (with its own) is
    rng = np.random.default_rng(3)
    rows = [{"h": float(k), "s": float(rng.normal()), "y": "ab"[rng.integers(2)]} for k in range(500) for _ in range(4)]
    feat = decided({"h": sb.types.numerical(exact=True), "s": sb.types.numerical()}, rows)
    for mode, low, high in (("train", -0.1, 0.1), ("eval", 0.3, 0.6)):
        mean = stat_of(feat, "h", featurize(feat, rows, mode))
        y = np.array([r["y"] == feat.labels.labels[1] for r in rows], dtype=np.float64)
        seen = sorted(mean)
        assert low < np.corrcoef([mean[i] for i in seen], y[seen])[0, 1] < high


def test_a_numerical_targets_mean_is_placed_among_its_bins_means():
    rng = np.random.default_rng(9)
    income = rng.uniform(1000, 2000, 300).round(2)
    rows = [{"income": income[k], "y": float(k % 2 * 10 + rng.normal())} for k in range(300) for _ in range(4)]
    feat = decided({"income": sb.types.numerical(), "y": sb.types.numerical()}, rows)
    means = stat_of(feat, "income", featurize(feat, rows[:8], "eval"))
    centers = feat.labels.centers
    for i in range(8):
        same = [r["y"] for r in rows if r["income"] == rows[i]["income"]]
        shrunk = (np.sum(same) + feat.stat_base) / (len(same) + 1)   # of the values, not their bins' means
        assert means[i] == pytest.approx(np.interp(shrunk, centers, np.linspace(0, 1, len(centers))))
    assert means[0] < 0.5 < means[4]  # household 0 is in the lower half, household 1 in the upper


def test_more_classes_or_labels_a_row_give_exact_values_no_target_mean():
    rows = [dict(r, y=r["y"] + str(i % 3)) for i, r in enumerate(_households(np.random.default_rng(0)))]
    feat = decided({"h": sb.types.numerical(exact=True)}, rows)
    assert sorted(feat.exact_values) == ["h"] and feat.stat_columns() == []
    assert feat.periodic_features() == [DIM - 1]
    # a training transform decides exact values without means: they are inputs of a network
    # built after them
    feat = make({"h": sb.types.numerical(), "s": sb.types.numerical()})
    featurize(feat, _households(np.random.default_rng(0)))
    assert sorted(feat.exact_values) == ["h"] and feat.stat_columns() == []


def test_rows_held_out_take_no_part_in_exact_values_or_their_means():
    from sparsebolt.data.csv import read_chunks
    rows = _households(np.random.default_rng(0))
    feat = make({"h": sb.types.numerical(), "s": sb.types.numerical()})
    chunk = next(read_chunks(rows, feat.columns(True), 1 << 16))
    held = np.arange(len(rows)) % 5 == 0  # one row of each household
    feat.decide_numbers([chunk], held_out=held)
    values, sums, counts = feat.exact_stats["h"]
    assert counts.sum() == (~held).sum() and feat.exact_values["h"].shape == (200,)
    y = np.array([r["y"] == feat.labels.labels[1] for r in rows])
    assert sums.sum() == y[~held].sum()
    unchecked = make({"h": sb.types.numerical(), "s": sb.types.numerical()})
    unchecked.decide_numbers([chunk], statistics=False)
    assert sorted(unchecked.exact_values) == ["h"] and unchecked.exact_stats == {}


def test_target_means_round_trip_through_config_and_state_and_bad_ones_are_refused():
    from sparsebolt.automl._persist import featurizer_state, set_featurizer_state
    types = {"h": sb.types.numerical(), "s": sb.types.numerical()}
    rows = _households(np.random.default_rng(0))
    feat = decided(types, rows)
    cfg, (meta, arrays) = json.loads(json.dumps(feat.get_config())), featurizer_state(feat)
    again = make(types)
    again.set_config(cfg)  # the columns, and their ids: no value has a mean before the state
    assert again.stat_columns() == ["h"] and again.periodic_features() == feat.periodic_features()
    assert stat_of(again, "h", featurize(again, rows[:5], "predict")) == {}
    set_featurizer_state(again, json.loads(json.dumps(meta)), arrays)
    assert featurize(again, rows, "eval") == featurize(feat, rows, "eval")
    for bad, match in ((lambda c: c["exact_values"].pop("h"), "of column 'h' need a numerical column with exact"),
                       (lambda c: c.update(stat_base="x"), r"base must be a number in the target's range \[0.0, 1.0\], got 'x'"),
                       (lambda c: c.update(stat_base=1e300), r"range \[0.0, 1.0\], got 1e\+300")):
        broken = json.loads(json.dumps(cfg))
        bad(broken)
        with pytest.raises(ValueError, match=match):
            make(types).set_config(broken)
    wrong = {**arrays, "exact_stats/0/values": arrays["exact_stats/0/values"][::-1].copy()}
    counts = {**arrays, "exact_stats/0/counts": -arrays["exact_stats/0/counts"]}
    sums = {**arrays, "exact_stats/0/sums": arrays["exact_stats/0/sums"] + 1e6}
    for state, doctored, match in ((meta, wrong, "'exact_stats/0/values' .* must hold finite numbers, increasing"),
                                   (meta, counts, r"'exact_stats/0/counts' .* must hold values in \[0, 9007"),
                                   (meta, sums, r"'exact_stats/0/sums' .* targets in \[0.0, 1.0\], one a counted row"),
                                   ({**meta, "exact_stats": []}, arrays, r"must hold the target means of columns \['h'\]"),
                                   ({**meta, "exact_stats": ["h"]}, arrays, r"must hold the target means of columns")):
        again = make(types)
        again.set_config(cfg)
        with pytest.raises(ValueError, match=match):
            set_featurizer_state(again, state, doctored)


def test_a_config_decides_its_target_means_again_on_its_first_training_with_or_without_a_network():
    # from_config(build=False) then train: the means had stayed the config's empty ones, the
    # network reading no mean for any row
    types = {"h": sb.types.numerical(), "s": sb.types.numerical(), "y": sb.types.categorical()}
    rows = _households(np.random.default_rng(0))
    udt = sb.UniversalDeepTransformer(types, target="y", seed=0)
    udt.train(rows, epochs=1, verbose=False)
    values = udt.featurizer.exact_stats["h"][0]
    assert values.shape == (200,)
    for build in (True, False):
        again = sb.UniversalDeepTransformer.from_config(udt.get_config(), build=build)
        again.train(rows, epochs=1, verbose=False)
        np.testing.assert_array_equal(again.featurizer.exact_stats["h"][0], values)
        assert again.featurizer.stat_columns() == ["h"]
        for kw in ({"epochs": 1}, {"max_epochs": 1}):  # streamed: decided on the first chunk
            again = sb.UniversalDeepTransformer.from_config(udt.get_config(), build=build)
            again.train(rows, max_in_memory_rows=400, verbose=False, **kw)
            assert again.featurizer.stat_columns() == ["h"] and again.featurizer.exact_stats["h"][0].shape[0] > 0


def _pairs_and_means(n=4000, k=4):
    """Rows whose numerical target adds a function of each of s0..s3 (6 values, bins=2: they
    get exact values and target means), of each two of them, and a larger one of n1 and n2
    together (10 values each)."""
    rng, t = np.random.default_rng(0), np.random.default_rng(1)
    s = rng.integers(0, 6, (n, k))
    y = sum(t.normal(size=6)[s[:, i]] for i in range(k))
    y += sum(t.normal(size=(6, 6))[s[:, i], s[:, j]] for i in range(k) for j in range(i + 1, k))
    n1, n2 = rng.integers(0, 10, n), rng.integers(0, 10, n)
    y += 3 * t.normal(size=(10, 10))[n1, n2] + 0.1 * rng.normal(size=n)
    rows = [{**{f"s{i}": float(s[r, i]) for i in range(k)}, "n1": float(n1[r]), "n2": float(n2[r]), "y": float(y[r])}
            for r in range(n)]
    types = {f"s{i}": sb.types.numerical(bins=2) for i in range(k)}
    return rows, {**types, "n1": sb.types.numerical(), "n2": sb.types.numerical(), "y": sb.types.numerical()}


def test_pairs_decided_again_after_a_config_stay_within_their_cap(monkeypatch):
    # a config's target means are decided again (from_config(build=True) forgets them), and
    # the pairs among their columns with them: they had been added beside the config's pairs,
    # past EXACT_MAX_PAIRS
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_MAX_PAIRS", 2)
    rows, types = _pairs_and_means()
    feat = decided(types, rows)
    assert list(feat.exact_pairs) == [("s0", "s3"), ("n1", "n2")] and feat.stat_columns() == ["s0", "s1", "s2"]
    again = make(types)
    again.set_config(json.loads(json.dumps(feat.get_config())))
    again.forget_stats()
    again.decide_numbers([chunk_of(again, rows)])
    assert list(again.exact_pairs) == list(feat.exact_pairs)
    for key, pairs in feat.exact_pairs.items():
        np.testing.assert_array_equal(again.exact_pairs[key], pairs)
    # a pair of those columns that no longer passes on the rows of the new decision is gone;
    # the config's pairs with other columns stay
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_MAX_PAIRS", 20)
    feat = decided(types, rows)
    assert list(feat.exact_pairs) == [("s0", "s2"), ("s0", "s3"), ("s1", "s3"), ("n1", "n2")]
    rng = np.random.default_rng(5)
    again = make(types)
    again.set_config(json.loads(json.dumps(feat.get_config())))
    again.forget_stats()
    again.decide_numbers([chunk_of(again, [{**r, "y": float(rng.normal())} for r in rows])])  # y tells nothing
    assert list(again.exact_pairs) == [("s0", "s3"), ("s1", "s3"), ("n1", "n2")] and set(again._pair_index) == \
        set(again.exact_pairs)


def test_a_number_beyond_float32s_range_is_no_value_of_a_pair(monkeypatch):
    # its key is infinite, which takes no token: the 30 schools of a few of those are still 30
    monkeypatch.setattr(sb.automl.types.Numerical, "EXACT_PAIR_MAX_VALUES", 30)
    rows = [{k: r[k] for k in ("school", "years", "y")} for r in _teachers(np.random.default_rng(5))]
    for r in rows[:5]:
        r["school"] = 1e39
    feat = make({"school": sb.types.numerical(), "years": sb.types.numerical()})
    featurize(feat, rows)
    assert list(feat.exact_pairs) == [("school", "years")]
    assert np.isfinite(feat.exact_pairs[("school", "years")]).all()


def test_a_rows_fold_follows_its_inputs_not_its_place():
    # the same rows in another order, or after new ones, see the same means: a row's own
    # label stays out however a later train orders them
    rng = np.random.default_rng(3)
    rows = [{"h": float(k), "s": float(rng.normal()), "y": "ab"[rng.integers(2)]} for k in range(300) for _ in range(4)]
    feat = decided({"h": sb.types.numerical(exact=True), "s": sb.types.numerical()}, rows)
    first = stat_of(feat, "h", featurize(feat, rows))
    order = rng.permutation(len(rows))
    again = stat_of(feat, "h", featurize(feat, [rows[i] for i in order] + rows[:7]))
    assert all(again[j] == first[i] for j, i in enumerate(order) if i in first)
    assert {j for j, i in enumerate(order) if i in first} == {j for j in again if j < len(rows)}
    folds = feat.row_folds(chunk_of(feat, rows))
    assert np.bincount(folds, minlength=5).min() > 150  # spread over the five
    twins = [dict(r, y=y) for r in rows[:2] for y in "ab"]  # alike in every input: one fold
    assert len(set(feat.row_folds(chunk_of(feat, twins))[:2])) == 1


def test_a_nodes_indexed_features_carry_no_target_mean():
    # household members linked to each other: a neighbor's mean would hold the row's own label
    rows = [dict(r, node=str(i), nbrs=str(i ^ 1)) for i, r in enumerate(_households(np.random.default_rng(0), 200, 2))]
    types = {"h": sb.types.numerical(), "node": sb.types.node_id(), "nbrs": sb.types.neighbors()}
    for indexed in (True, False):  # nodes indexed first, or kept by the training transform
        feat = decided(types, rows)
        assert feat.stat_columns() == ["h"]
        stat = feat.input_dim + feat._position_hash("h", "stat")
        if indexed:
            feat.index_nodes(chunk_of(feat, rows))
        trained = featurize(feat, rows)
        assert len(feat.nodes.features) == len(rows)
        assert all(stat not in feat._ids(hashes) for hashes, _ in feat.nodes.features.values())
        own = [ids.count(stat) for ids, _ in trained]  # its own mean, once (none: its twin in its own fold)
        assert max(own) == 1 and sum(own) > 0.7 * len(rows)


def _rows_chunk(values):
    from sparsebolt.data.csv import read_chunks
    return next(read_chunks([{"d": v} for v in values], ["d"], 100))


def test_unix_times_read_at_once_as_one_by_one():
    # a column NumPy reads whole takes the vectorised path; each value as int(float(v))
    from sparsebolt.automl import featurize as F

    values = ["874965478", " 12 ", 1.9, -1.9, 7, True, "1e9", -62_135_596_800, 253_402_300_799.5, None, "1_000"]
    expect = [874965478, 12, 1, -1, 7, 1, 10**9, -62_135_596_800, 253_402_300_799, 0, 1000]
    secs, missing = F.parse_times("d", sb.types.date("unix"), values, _rows_chunk(values))
    assert secs.tolist() == expect and missing.tolist() == [False] * 9 + [True, False]
    chunk = _rows_chunk(values[:9] + values[10:])
    assert F._unix_seconds(values[:9] + values[10:], chunk).tolist() == expect[:9] + expect[10:]  # read at once
    # NumPy would read a datetime64 as a count of days, float() refuses it: an error as before
    for bad in (float("nan"), "inf", 253_402_300_800, "x", np.datetime64("2020-01-01"), np.timedelta64(5, "s")):
        assert F._unix_seconds([1, bad], _rows_chunk([1, bad])) is None
        with pytest.raises(ValueError, match="row 1: column 'd': cannot read"):
            F.parse_times("d", sb.types.date("unix"), [1, bad], _rows_chunk([1, bad]))
