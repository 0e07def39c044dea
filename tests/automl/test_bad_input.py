"""Bad parameters and bad data get errors that name the parameter, the column or the line."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import sparsebolt as sb
from sparsebolt.data import DataFormatError

TEXT = {"t": sb.types.text(), "y": sb.types.categorical(n_classes=3)}


def _udt(data_types=None, target="y", **kw):
    return sb.UniversalDeepTransformer(TEXT if data_types is None else data_types, target=target,
                                       embedding_dim=8, input_dim=1024, **kw)


def test_unknown_type_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"^The 'data_types' parameter of UniversalDeepTransformer must give column "
                                         r"'t' a sb.types object or one of 'text', 'categorical', 'numerical', 'date', "
                                         r"'node_id', 'neighbors'\. Got 'txt' instead\.$"):
        _udt({"t": "txt", "y": sb.types.categorical(n_classes=2)})
    model = _udt({"t": "text", "y": sb.types.categorical(n_classes=2)})  # names work
    assert model.data_types["t"] == sb.types.text()
    # a type as a config dict (a TOML file's) names a setting it does not take, and its own
    with pytest.raises(ValueError, match=r"^The 'data_types' parameter of UniversalDeepTransformer must give column "
                                         r"'c' settings a 'categorical' column takes, of \['n_classes', 'delimiter'.*\]\. "
                                         r"Got \['nclasses'\] instead\.$"):
        _udt({"c": {"type": "categorical", "nclasses": 3}, "y": sb.types.categorical(n_classes=2)})
    assert _udt({"c": {"type": "numerical", "bins": 3}, "y": "categorical"}).data_types["c"].bins == 3


def test_type_parameters():
    with pytest.raises(ValueError, match=r"The 'tokenizer' parameter of sb.types.text must be one of 'auto', 'words', "
                                         r"'words_punct', 'char-k'"):
        sb.types.text(tokenizer="sentencepiece")
    with pytest.raises(ValueError, match=r"'encoding' parameter of sb.types.text must be one of 'auto', 'unigrams', "
                                         r"'bigrams', 'pairgrams'\. Got 'trigrams' instead\."):
        sb.types.text(encoding="trigrams")
    with pytest.raises(ValueError, match=r"'weighting' parameter of sb.types.text must be one of 'auto', 'sqrt', "
                                         r"'tfidf'\. Got 'bm25' instead\."):
        sb.types.text(weighting="bm25")
    # a range whose width overflows had given NaN bin edges, with a RuntimeWarning only
    for bad in ((5, 1), (0, float("inf")), (-1e308, 1e308), (0, 10 ** 400)):
        with pytest.raises(ValueError, match=r"'range' parameter of sb.types.numerical must be None or \(low, high\)"):
            sb.types.numerical(range=bad)
    with pytest.raises(ValueError, match=r"'bins' parameter of sb.types.numerical must be"):
        sb.types.numerical(bins=0)
    with pytest.raises(ValueError, match=r"'position' parameter of sb.types.numerical must be True or False\. "
                                         r"Got 1 instead\."):
        sb.types.numerical(position=1)
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match=r"'exact' parameter of sb.types.numerical must be True, False or 'auto'\. "
                                             rf"Got {bad!r} instead\."):
            sb.types.numerical(exact=bad)
    with pytest.raises(ValueError, match=r"The 'n_classes' parameter of sb.types.categorical must be an int >= 1 "
                                         r"with label_type='int'"):
        sb.types.categorical(label_type="int")
    with pytest.raises(ValueError, match=r"'delimiter' parameter of sb.types.categorical must be None or a single"):
        sb.types.categorical(delimiter="||")


def test_constructor_parameters():
    with pytest.raises(ValueError) as err:
        _udt(sparsity=0.0)
    assert str(err.value) == ("The 'sparsity' parameter of UniversalDeepTransformer must be a number in "
                              "(0.0, 1.0]. Got 0.0 instead.")
    with pytest.raises(ValueError, match=r"The 'target' parameter of UniversalDeepTransformer must be one of the "
                                         r"columns of data_types \['t', 'y'\]\. Got 'label' instead\."):
        _udt(target="label")
    with pytest.raises(ValueError, match=r"The 'target' parameter of UniversalDeepTransformer must be a categorical "
                                         r"or numerical column \(column 't' is sb.types.text"):
        _udt(target="t")
    with pytest.raises(ValueError, match=r"'output_activation' .* one of 'softmax', 'sigmoid'"):
        _udt(output_activation="relu")
    with pytest.raises(ValueError, match=r"'embedding_dim' parameter of UniversalDeepTransformer must be an int >= 1"):
        sb.UniversalDeepTransformer(TEXT, target="y", embedding_dim=0)
    with pytest.raises(ValueError, match=r"'cross_column_pairgrams' parameter of UniversalDeepTransformer must be True "
                                         r"or False\. Got 'no' instead\."):
        _udt(cross_column_pairgrams="no")   # had been read as True
    with pytest.raises(ValueError, match=r"'data_types' parameter of UniversalDeepTransformer must be a dict with at "
                                         r"most one node_id column\. Got \{'a': 'node_id', 'b': 'node_id'\}"):
        _udt({"a": sb.types.node_id(), "b": sb.types.node_id(), "y": sb.types.categorical()})


def test_temporal_tracking_needs_categorical_columns_and_one_date():
    types = {"u": sb.types.categorical(), "i": sb.types.categorical(n_classes=5)}
    with pytest.raises(ValueError, match=r"The 'temporal_tracking' parameter of UniversalDeepTransformer must be "
                                         r"None unless data_types has exactly one date column"):
        _udt(types, target="i", temporal_tracking={"u": ["i"]})
    with pytest.raises(ValueError, match=r"'temporal_tracking' parameter .* 'x' is not one"):
        _udt({**types, "d": sb.types.date()}, target="i", temporal_tracking={"u": ["x"]})
    with pytest.raises(ValueError, match=r"'temporal_tracking' parameter .* the user column not the target 'u'\. "
                                         r"Got \{'u': 'i'\} instead\."):  # predict raised KeyError: 'u'
        _udt({**types, "d": sb.types.date()}, target="u", temporal_tracking={"u": "i"})


def test_use_before_training_and_unknown_row_columns(tmp_path):
    model = _udt()
    with pytest.raises(RuntimeError, match="^predict needs a trained"):
        _udt({"t": sb.types.text(), "y": sb.types.categorical()}).predict({"t": "x"})
    path = tmp_path / "d.csv"
    path.write_text("t,y\nred,a\nblue,b\n")
    model.train(str(path), verbose=False)
    with pytest.raises(TypeError, match=r"^The 'row' parameter of predict must be a dict of column name -> value "
                                        r"\(use predict_batch for several rows\)\. Got list instead\.$"):
        model.predict([{"t": "red"}])
    # the errors name the method called, not predict_batch, which predict had handed the row to
    with pytest.raises(ValueError, match=r"'top_k' parameter of predict must be an int >= 1"):
        model.predict({"t": "red"}, top_k=0)
    with pytest.raises(ValueError, match=r"^The 'row' parameter of predict must have the columns \['t'\] \(None for a "
                                         r"missing value\)\. Got a row without \['t'\] and with \['text'\], not in "
                                         r"data_types \['t', 'y'\], instead\.$"):
        model.predict({"text": "red"})
    with pytest.raises(ValueError, match=r"^The 'row' parameter of explain must have the columns \['t'\] .* Got a row "
                                         r"without \['t'\] and with \['text'\]"):
        model.explain({"text": "red"})
    with pytest.raises(TypeError, match=r"^The 'row' parameter of explain must be a dict of column name -> value\. "
                                        r"Got tuple instead\.$"):
        model.explain(("red",))
    assert [lab for lab, _ in model.predict({"t": "red", "y": "ignored"}, top_k=5)] in (["a", "b"], ["b", "a"])


def test_row_dicts_with_a_misspelt_column_are_refused_everywhere():
    # a misspelt column had been read as a missing value: evaluate scored rows without it,
    # update_history recorded nothing, silently
    model = _udt()
    rows = [{"t": "red", "y": "a"}, {"t": "blue", "y": "b"}] * 5
    typo = [{"t": "red", "y": "a"}, {"text": "blue", "y": "b"}]
    message = (r"^The '{}' parameter of {} must hold rows with the columns {} \(None for a missing value\)\. Got row 1 "
               r"without \['t'\] and with \['text'\], not in data_types \['t', 'y'\], instead\.$")
    with_target, inputs_only = r"\['t', 'y'\]", r"\['t'\]"
    with pytest.raises(ValueError, match=message.format("data", "train", with_target)):
        model.train(typo, verbose=False)
    assert model.model is not None and not model.trained  # refused before it read a row
    with pytest.raises(ValueError, match=message.format("validation", "train", with_target)):
        model.train(rows, epochs=1, validation=typo, verbose=False)
    model.train(rows, epochs=1, verbose=False)
    for method in ("evaluate", "pin_labels", "prepare_sparse_inference"):
        with pytest.raises(ValueError, match=message.format("data", method, with_target)):
            getattr(model, method)(typo)
    inputs = [{k: v for k, v in row.items() if k != "y"} for row in typo]
    for method in ("predict_batch", "embed"):
        with pytest.raises(ValueError, match=message.format("rows", method, inputs_only)):
            getattr(model, method)(inputs)
    # introduce_label had named embed, which it hands its rows to
    with pytest.raises(ValueError, match=message.format("rows", "introduce_label", inputs_only)):
        model.introduce_label(inputs, "c")
    # a DataFrame's other columns are left out, as a CSV file's
    assert model.evaluate(pd.DataFrame(typo[:1]).assign(text="x")) == model.evaluate(typo[:1])
    temporal = _udt({"u": sb.types.categorical(), "i": sb.types.categorical(n_classes=5), "d": sb.types.date()},
                    target="i", temporal_tracking={"u": ["i"]})
    with pytest.raises(ValueError, match=r"^The 'data' parameter of update_history must hold rows with the columns "
                                         r"\['d', 'u', 'i'\] \(None for a missing value\)\. Got row 0 without \['u'\] "
                                         r"and with \['usr'\]"):
        temporal.update_history([{"usr": "u1", "i": "x", "d": "2020-01-01"}])
    graph = _udt({"n": sb.types.node_id(), "nb": sb.types.neighbors(), "y": sb.types.categorical(n_classes=3)})
    with pytest.raises(ValueError, match=r"^The 'data' parameter of index_nodes must hold rows with the columns .* "
                                         r"Got row 0 without \['nb'\] and with \['neighbours'\]"):
        graph.index_nodes([{"n": "1", "neighbours": "2 3"}])



def test_sources_of_rows_are_refused_in_the_parameter_template():
    model = _udt()
    rows = [{"t": "red", "y": "a"}, {"t": "blue", "y": "b"}] * 5
    # read_chunks' own error had named no method nor parameter
    with pytest.raises(TypeError, match=r"^The 'data' parameter of train must be a CSV file path, a pandas DataFrame "
                                        r"or a list of row dicts\. Got dict instead\.$"):
        model.train(rows[0], verbose=False)
    with pytest.raises(TypeError, match=r"^The 'validation' parameter of train must be a CSV file path, .* Got "
                                        r"ndarray instead\.$"):
        model.train(rows, validation=np.zeros(3), verbose=False)
    with pytest.raises(TypeError, match=r"^The 'data' parameter of train must hold row dicts of column name -> "
                                        r"value\. Got str at row 1 instead\.$"):
        model.train([rows[0], "blue,b"], verbose=False)
    # read_chunks' 'The list of rows is empty.' had not said whether data or validation was
    with pytest.raises(ValueError, match=r"^The 'validation' parameter of train must hold at least one row\. Got an "
                                         r"empty list instead\.$"):
        model.train(rows, validation=[], verbose=False)
    with pytest.raises(ValueError, match=r"^The 'data' parameter of train must hold at least one row\. Got an empty "
                                         r"DataFrame instead\.$"):
        model.train(pd.DataFrame({"t": [], "y": []}), verbose=False)
    model.train(rows, epochs=1, verbose=False)
    with pytest.raises(TypeError, match=r"^The 'data' parameter of evaluate must be a CSV file path, .* Got int "
                                        r"instead\.$"):
        model.evaluate(3)
    with pytest.raises(ValueError, match=r"^The 'data' parameter of evaluate must hold at least one row\. Got an empty "
                                         r"list instead\.$"):
        model.evaluate([])
    with pytest.raises(ValueError, match=r"^The 'catalogue' parameter of cold_start must hold at least one row\. Got an "
                                         r"empty list instead\.$"):
        model.cold_start([], "name")
    assert model.predict_batch([]) == [] and model.embed(pd.DataFrame({"t": []})).shape == (0, 8)
    with pytest.raises(TypeError, match=r"^The 'rows' parameter of predict_batch must be a list of row dicts or a "
                                        r"DataFrame \(use predict for one row dict\)\. Got dict instead\.$"):
        model.predict_batch({"t": "red"})
    with pytest.raises(TypeError, match=r"^The 'rows' parameter of embed must be a list of row dicts or a DataFrame "
                                        r"\(put one row dict in a list\)\. Got dict instead\.$"):
        model.embed({"t": "red"})
    with pytest.raises(TypeError, match=r"^The 'rows' parameter of predict_batch must be a CSV file path, .* Got "
                                        r"generator instead\.$"):
        model.predict_batch(r for r in rows)
    with pytest.raises(TypeError, match=r"^The 'catalogue' parameter of cold_start must be a CSV file path, .* Got "
                                        r"dict instead\.$"):
        model.cold_start({"y": "a", "name": "red"}, "name")


@pytest.mark.parametrize("body, message", [
    ("t,y\nx,a\ny,\n", r"line 3: the target column 'y' is empty"),
    ("t,y\nx,a\ny,b\nz,c\nw,d\n", r"line 5: target column 'y' has more than n_classes=3 distinct labels \(the next is 'd'\)"),
    ("t,y\nx,a\ny\n", r"line 3: expected 2 fields as in the header, found 1"),
])
def test_bad_training_rows_name_their_line(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(DataFormatError, match=r"bad\.csv, " + message):
        _udt().train(str(path), verbose=False)


@pytest.mark.parametrize("value", ["abc", "inf", "NA"])
def test_a_numerical_target_names_the_row_without_a_finite_number(tmp_path, value):
    path = tmp_path / "reg.csv"
    path.write_text(f"t,y\nx,1.5\ny,2\nz,{value}\nw,3\n")
    model = sb.UniversalDeepTransformer({"t": sb.types.categorical(), "y": sb.types.numerical()}, target="y")
    with pytest.raises(DataFormatError, match=rf"reg\.csv, line 4: the target column 'y' needs a finite number in "
                                              rf"every training and evaluation row, got '{value}'"):
        model.train(str(path), verbose=False)


def test_a_numerical_target_refuses_times_as_float_does():
    import numpy as np
    rows = [{"t": "x", "y": 1.5}, {"t": "y", "y": 2.0}, {"t": "z", "y": np.timedelta64(3, "s")}, {"t": "w", "y": 3.0}]
    model = sb.UniversalDeepTransformer({"t": sb.types.categorical(), "y": sb.types.numerical()}, target="y")
    with pytest.raises(ValueError, match=r"rows, row 2: the target column 'y' needs a finite number"):
        model.train(rows, verbose=False)


def test_a_numerical_column_refuses_times_as_float_does():
    import numpy as np
    rows = [{"x": 1.5, "y": "a"}, {"x": np.datetime64("2020-01-02"), "y": "b"}, {"x": 3.0, "y": "a"}]
    model = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "y": sb.types.categorical()}, target="y")
    with pytest.raises(ValueError, match=r"rows, row 1: column 'x': expected a number, got "
                                         r"(np|numpy)\.datetime64\('2020-01-02'\)"):
        model.train(rows, verbose=False)


def test_integer_labels_must_be_in_range(tmp_path):
    path = tmp_path / "ints.csv"
    path.write_text("t,y\nx,0\ny,2\nz,3\n")
    model = _udt({"t": sb.types.text(), "y": sb.types.categorical(n_classes=3, label_type="int")})
    with pytest.raises(DataFormatError, match=r"line 4: target column 'y': expected an integer label in \[0, 3\), got '3'"):
        model.train(str(path), verbose=False)


def test_unknown_evaluation_labels_count_as_misses_with_a_warning(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("t,y\nred,a\nblue,b\n" * 20)
    test.write_text("t,y\nred,a\nblue,zzz\n")
    model = _udt()
    model.train(str(train), epochs=3, learning_rate=1e-2, verbose=False)
    with pytest.warns(UserWarning, match=r"1 label value\(s\) of target column 'y' were never seen in training"):
        res = model.evaluate(str(test), metrics=["categorical_accuracy"])
    assert res["categorical_accuracy"] == pytest.approx(0.5)


def test_unknown_labels_of_a_multi_label_row_count_as_misses():
    model = _udt({"t": sb.types.text(), "y": sb.types.categorical(delimiter="|")})
    model.train([{"t": "red", "y": "a|b"}, {"t": "blue", "y": "b|c"}] * 20, epochs=1, verbose=False)
    # the top 3 hold every known class: each known label is found, each unknown one missed
    # (they had been dropped from the row, and recall@3 of 'a|zzz' read 1.0)
    rows = [{"t": "red", "y": "a|zzz"}, {"t": "blue", "y": "b|c|zzz|yyy"}, {"t": "red", "y": "zzz|yyy"}]
    with pytest.warns(UserWarning, match=r"5 label value\(s\) of target column 'y' were never seen"):
        res = model.evaluate(rows, metrics=["recall@3", "precision@3", "categorical_accuracy"])
    assert res["recall@3"] == pytest.approx((1 / 2 + 2 / 4 + 0) / 3)
    assert res["precision@3"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert res["categorical_accuracy"] <= 2 / 3  # the row of unknown labels alone is a miss


def test_non_finite_numbers_and_nat_dates_name_the_row():
    udt = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "d": sb.types.date(), "y": sb.types.categorical()},
                                      target="y", embedding_dim=8, input_dim=1024)
    good = {"x": 1.0, "d": "2020-01-01", "y": "a"}
    for bad, message in (({"x": "inf"}, "column 'x': expected a finite number, got 'inf'"),
                         ({"x": "1e400"}, "expected a finite number, got '1e400'"),
                         ({"d": "NaT"}, "column 'd': cannot read 'NaT' as a date")):
        with pytest.raises(ValueError, match=f"row 1.*{message}"):
            udt.train([good, {**good, **bad}, {**good, "y": "b"}] * 30, epochs=1, verbose=False)
    # 'nan' is one of pandas' missing markers, as in read_csv
    udt.train([good, {**good, "x": "nan"}, {**good, "y": "b"}] * 30, epochs=1, verbose=False)
    # a missing number (nan once parsed) beside a bad one: the bad one is still named
    with pytest.raises(ValueError, match="row 2.*expected a finite number, got 'inf'"):
        udt.train([good, {**good, "x": None}, {**good, "x": "inf"}, {**good, "y": "b"}] * 30, epochs=1, verbose=False)


def _labeled(labels, n=60):
    words = ["good", "great", "bad", "awful", "fine", "ok"]
    return [{"t": f"{words[i % 6]} {words[(i * 7) % 6]}", "y": labels[i % len(labels)]} for i in range(n)]


def test_training_again_with_a_label_the_network_has_no_output_for_names_it_and_changes_nothing(tmp_path):
    model = sb.UniversalDeepTransformer({"t": sb.types.text(), "y": sb.types.categorical()}, target="y",
                                        embedding_dim=8, input_dim=1024)
    model.train(_labeled(["a", "b", "c"]), epochs=1, verbose=False)
    with pytest.raises(DataFormatError, match=r"rows, row 60: target column 'y' has the label 'd', which the trained "
                                              r"model has no output for \(its 3 classes come from earlier training\); "
                                              r"add a class with introduce_label"):
        model.train(_labeled(["a", "b", "c"]) + [{"t": "new", "y": "d"}], epochs=1, verbose=False)
    assert model.featurizer.labels.labels == ["a", "b", "c"] and model.n_classes == 3
    model.save(tmp_path / "m.sbm")  # the label map still fits the network
    assert sb.UniversalDeepTransformer.load(tmp_path / "m.sbm").n_classes == 3
    model.introduce_label([{"t": "new"}], "d")
    model.train(_labeled(["a", "b", "c", "d"]), epochs=1, verbose=False)  # with an output for it


def test_a_target_with_one_class_is_an_error():
    with pytest.raises(ValueError, match=r"The target column 'y' of the training data \(rows\) must have at least "
                                         r"two classes\. Got \['pos'\]\."):
        _udt({"t": sb.types.text(), "y": sb.types.categorical()}).train(_labeled(["pos"]), epochs=1, verbose=False)


def test_a_unix_time_must_be_seconds():
    import pandas as pd

    types = {"d": sb.types.date("unix"), "y": sb.types.categorical()}
    rows = [{"d": 1_600_000_000 + 86_400 * i, "y": str(i % 2)} for i in range(40)]
    model = _udt(types)
    model.train(rows, epochs=1, verbose=False)
    for value, why in ((pd.Timestamp("2021-01-01"), "a unix time is a number of seconds \\(give format 'iso'"),
                       (1_600_000_000_000, "its year is outside 1-9999; a unix time counts seconds")):
        with pytest.raises(ValueError, match=rf"row 0: column 'd': cannot read .* as a date in format 'unix': {why}"):
            model.predict({"d": value})
        with pytest.raises(ValueError, match=rf"row 1: column 'd': cannot read .* in format 'unix': {why}"):
            _udt(types).train([rows[0], dict(rows[1], d=value)] + rows[2:], epochs=1, verbose=False)


def test_dates_numpy_would_misread_are_errors_and_offsets_are_read_as_utc():
    import warnings

    types = {"d": sb.types.date(), "t": sb.types.text(), "y": sb.types.categorical()}
    rows = [{"d": "2020-01-15T10:00:00+02:00", "t": "good" if i % 2 else "bad", "y": str(i % 2)} for i in range(40)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's warning about the zone it drops is not passed on
        _udt(types).train(rows, epochs=1, verbose=False)
    for value in ("20200115", "1600000000"):  # numpy reads both as years in the millions
        with pytest.raises(ValueError, match=rf"row 1: column 'd': cannot read '{value}' as a date in format 'iso': "
                                             r"its year is outside 1-9999; ISO dates are written YYYY-MM-DD"):
            _udt(types).train([rows[0], dict(rows[1], d=value)] + rows[2:], epochs=1, verbose=False)


def test_a_label_error_on_training_again_comes_before_any_history_is_recorded():
    types = {"user": sb.types.categorical(), "item": sb.types.categorical(), "when": sb.types.date(),
             "y": sb.types.categorical()}
    rows = [{"user": str(i % 7), "item": str(i % 11), "when": f"2020-01-{1 + i % 28:02d}", "y": "ab"[i % 2]}
            for i in range(100)]
    model = sb.UniversalDeepTransformer(types, target="y", temporal_tracking={"user": ["item"]}, embedding_dim=8,
                                        input_dim=1024)
    model.train(rows, epochs=1, verbose=False)
    recorded = {k: {u: list(v) for u, v in h._items.items()} for k, h in model.featurizer.histories.items()}
    with pytest.raises(DataFormatError, match="has the label 'z'"):
        model.train(rows + [dict(rows[0], y="z")], epochs=1, verbose=False)
    assert {k: {u: list(v) for u, v in h._items.items()} for k, h in model.featurizer.histories.items()} == recorded


def test_a_one_class_error_leaves_no_labels_behind():
    model = _udt({"t": sb.types.text(), "y": sb.types.categorical()})
    with pytest.raises(ValueError, match="at least two classes"):
        model.train(_labeled(["a"]), epochs=1, verbose=False)
    model.train(_labeled(["b", "c"]), epochs=1, verbose=False)
    assert model.featurizer.labels.labels == ["b", "c"]


def test_a_categorical_value_holding_several_names_the_row():
    # its string ("['a', 'b']") would be one made-up category
    rows = [{"c": "a" if i % 2 else "b", "y": str(i % 2)} for i in range(20)]
    model = _udt({"c": sb.types.categorical(), "y": sb.types.categorical()})
    model.train(rows, epochs=1, verbose=False)
    for value in (["a", "b"], {"a": 1}, ("a",)):
        with pytest.raises(ValueError, match=rf"row 3: column 'c': expected one category a row \(a string or a "
                                             rf"number\), got a {type(value).__name__}; give several as one string"):
            _udt({"c": sb.types.categorical(), "y": sb.types.categorical()}).train(
                rows[:3] + [dict(rows[3], c=value)] + rows[4:], epochs=1, verbose=False)
        with pytest.raises(ValueError, match=r"row 0: column 'c': expected one category a row"):
            model.predict({"c": value})


def test_a_target_value_holding_several_names_the_row():
    # as an input's: its string would be one made-up class (it was, silently, "['a', 'b']")
    import pandas as pd

    rows = [{"c": "a" if i % 2 else "b", "y": str(i % 2)} for i in range(20)]
    for value in (["a", "b"], {"a": 1}, ("a",)):
        bad = rows[:3] + [dict(rows[3], y=value)] + rows[4:]
        for source, delimiter in ((bad, None), (pd.DataFrame(bad), None), (bad, "|")):
            types = {"c": sb.types.categorical(), "y": sb.types.categorical(delimiter=delimiter)}
            with pytest.raises(ValueError, match=rf"row 3: target column 'y': expected one label a row \(a string "
                                                 rf"or a number\), got a {type(value).__name__}"):
                _udt(types).train(source, epochs=1, verbose=False)


def test_a_first_train_that_fails_leaves_the_model_as_constructed():
    # a bad input value found after the target was read: the next train fits its own bins and
    # classes (they had stayed: a numerical target's values were clipped to the failed rows'
    # range, MAE 1539 against 256; new classes were refused as having no output)
    good = [{"d": "2020-01-01", "x": float(i % 10), "y": str(i % 3 + 3)} for i in range(60)]
    bad = [{**r, "y": str(i % 2)} for i, r in enumerate(good)]
    bad[50]["d"] = "not a date"
    model = _udt({"d": sb.types.date(), "x": sb.types.numerical(), "y": sb.types.categorical()})
    with pytest.raises(ValueError, match="row 50: column 'd': cannot read 'not a date'"):
        model.train(bad, epochs=1, verbose=False)
    assert model.model is None and model.featurizer.labels.labels == []
    model.train(good, epochs=1, verbose=False)
    assert sorted(model.featurizer.labels.labels) == ["3", "4", "5"]
    numbers = [{"d": "2020-01-01", "x": float(i % 10), "y": float(i % 10) / 10} for i in range(60)]
    regression = _udt({"d": sb.types.date(), "x": sb.types.numerical(), "y": sb.types.numerical()})
    with pytest.raises(ValueError, match="row 50: column 'd'"):
        regression.train(numbers[:50] + [dict(numbers[50], d="not a date")] + numbers[51:], epochs=1, verbose=False)
    shifted = [dict(r, y=r["y"] + 1000.0) for r in numbers]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        regression.train(shifted, epochs=1, verbose=False)
    assert regression.featurizer.labels.bounds[0] == 1000.0


def test_a_failed_first_train_of_a_network_built_with_n_classes_leaves_it_as_constructed():
    # the constructor built the network (n_classes given): a failed first train had kept the
    # bins it fitted to its own rows, which clipped every value of the next train's
    rows = [{"d": "2020-01-01", "x": float(i % 10), "y": i % 3} for i in range(60)]
    types = {"d": sb.types.date(), "x": sb.types.numerical(), "y": sb.types.categorical(n_classes=3)}
    model, fresh = _udt(types), _udt(types)
    weights = model.model.layer("output").W.value.copy()
    bad = [dict(r, x=r["x"] + 1000.0) for r in rows]
    bad[50]["d"] = "not a date"
    with pytest.raises(ValueError, match="row 50: column 'd'"):
        model.train(bad, epochs=1, verbose=False)
    assert model.featurizer.edges["x"] is None and model.model.steps == 0
    np.testing.assert_array_equal(model.model.layer("output").W.value, weights)
    model.train(rows, epochs=1, verbose=False)
    fresh.train(rows, epochs=1, verbose=False)
    np.testing.assert_array_equal(model.featurizer.edges["x"], fresh.featurizer.edges["x"])
    assert model.predict_batch(rows[:5]) == fresh.predict_batch(rows[:5])


def test_an_integer_beyond_float64_names_its_column_and_row():
    rows = [{"x": float(i % 10), "y": str(i % 2)} for i in range(60)]
    model = _udt({"x": sb.types.numerical(), "y": sb.types.categorical()})
    model.train(rows, epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"row 1: column 'x': expected a number"):
        model.predict_batch([{"x": 1.0}, {"x": 10 ** 400}])   # OverflowError had escaped
    numbers = _udt({"x": sb.types.numerical(), "y": sb.types.numerical()})
    with pytest.raises(ValueError, match=r"row 3: the target column 'y' needs a finite number"):
        numbers.train([{"x": 1.0, "y": 2.0}] * 3 + [{"x": 1.0, "y": 10 ** 400}] + [{"x": 1.0, "y": 2.0}] * 56,
                      epochs=1, verbose=False)


@pytest.mark.parametrize("n_classes", [None, 3])
def test_an_interrupted_first_train_keeps_what_it_trained(n_classes):
    # Ctrl-C is no failure of the data: the epochs trained stay (the rollback had dropped them)
    class Interrupt(sb.Callback):
        def on_epoch_begin(self, epoch, model):
            if epoch == 3:
                raise KeyboardInterrupt

    rows = [{"x": float(i % 10), "y": str(i % 3)} for i in range(60)]
    model = _udt({"x": sb.types.numerical(), "y": sb.types.categorical(n_classes=n_classes)})
    with pytest.raises(KeyboardInterrupt):
        model.train(rows, epochs=5, callbacks=[Interrupt()], verbose=False)
    assert model.model.steps > 0 and model.featurizer.edges["x"] is not None
    assert len(model.predict_batch(rows[:3])) == 3


def test_a_network_built_from_n_classes_is_not_used_before_train():
    # the constructor's random weights had answered predict and evaluate
    model = _udt()
    rows = [{"t": "red", "y": "a"}, {"t": "blue", "y": "b"}]
    for call in (lambda: model.predict({"t": "red"}), lambda: model.evaluate(rows), lambda: model.embed(rows),
                 lambda: model.explain({"t": "red"})):
        with pytest.raises(RuntimeError, match="needs a trained UniversalDeepTransformer; call train first"):
            call()
    model.train(rows * 10, epochs=1, verbose=False)
    assert model.predict({"t": "red"})


@pytest.mark.parametrize("value", [["red", "sky"], {"red": 1}, b"red sky"])
def test_a_text_value_that_is_no_string_names_the_row(value):
    # its str() had been tokens: '[', "'red'," or "b'red"
    rows = [{"t": "good day" if i % 2 else "bad day", "y": str(i % 2)} for i in range(20)]
    types = {"t": sb.types.text(), "y": sb.types.categorical()}
    with pytest.raises(ValueError, match=rf"row 3: column 't': expected a text \(a string\), got a "
                                         rf"{type(value).__name__}"):
        _udt(types).train(rows[:3] + [dict(rows[3], t=value)] + rows[4:], epochs=1, verbose=False)
    model = _udt(types)
    model.train(rows, epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"row 0: column 't': expected a text"):
        model.predict({"t": value})


def test_a_delimited_categorical_value_must_be_one_string():
    # a list had been one made-up category "['x', 'p']" in training, unknown at prediction
    rows = [{"c": "x|p" if i % 2 else "y|p", "y": str(i % 2)} for i in range(20)]
    types = {"c": sb.types.categorical(delimiter="|"), "y": sb.types.categorical()}
    with pytest.raises(ValueError, match=r"row 3: column 'c': expected the row's categories as one string joined "
                                         r"by '\|', got a list"):
        _udt(types).train(rows[:3] + [dict(rows[3], c=["x", "p"])] + rows[4:], epochs=1, verbose=False)


def test_bytes_are_no_category_label_or_node_id():
    # their str() had been made-up values: "b'x'" an unseen category at prediction
    rows = [{"c": "x" if i % 2 else "z", "y": str(i % 2)} for i in range(20)]
    types = {"c": sb.types.categorical(), "y": sb.types.categorical()}
    model = _udt(types)
    model.train(rows, epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"row 0: column 'c': expected one category a row \(a string or a number\), "
                                         r"got a bytes$"):
        model.predict({"c": b"x"})
    with pytest.raises(ValueError, match=r"row 3: target column 'y': expected one label a row \(a string or a "
                                         r"number\), got a bytes$"):
        model.evaluate(rows[:3] + [dict(rows[3], y=b"1")])
    multi = {"c": sb.types.categorical(delimiter="|"), "y": sb.types.categorical(delimiter="|")}
    with pytest.raises(ValueError, match=r"row 3: column 'c': expected the row's categories as one string joined "
                                         r"by '\|', got a bytes$"):
        _udt(multi).train(rows[:3] + [dict(rows[3], c=b"x|p")] + rows[4:], epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"row 3: target column 'y': expected one label a row .*, got a bytes$"):
        _udt(multi).train(rows[:3] + [dict(rows[3], y=b"1|0")] + rows[4:], epochs=1, verbose=False)
    graph = sb.UniversalDeepTransformer({"id": "node_id", "nb": "neighbors", "y": "categorical"}, target="y")
    nodes = [{"id": i, "nb": f"{(i + 1) % 20}", "y": "ab"[i % 2]} for i in range(20)]
    for column in ("id", "nb"):
        with pytest.raises(ValueError, match=rf"row 3: column '{column}': expected .*, got a bytes$"):
            graph.train(nodes[:3] + [dict(nodes[3], **{column: b"4"})] + nodes[4:], epochs=1, verbose=False)


def test_update_history_refuses_a_user_or_item_that_is_no_category():
    # a list had been recorded as the made-up item "['x']"
    model = _udt({"u": sb.types.categorical(), "i": sb.types.categorical(n_classes=5), "d": sb.types.date()},
                 target="i", temporal_tracking={"u": ["i"]})
    for column, value in (("i", ["x"]), ("u", b"u1")):
        with pytest.raises(ValueError, match=rf"rows, row 1: column '{column}': expected one category a row \(a "
                                             rf"string or a number\), got a {type(value).__name__}"):
            model.update_history([{"u": "u1", "i": "x", "d": "2020-01-01"},
                                  {"u": "u1", "i": "y", "d": "2020-01-02", column: value}])
    assert not model.featurizer.histories[("u", "i")].vocab


def test_a_target_of_delimiters_only_is_as_empty_as_an_empty_one():
    rows = [{"c": "a" if i % 2 else "b", "y": "p;q" if i % 2 else "q"} for i in range(20)]
    types = {"c": sb.types.categorical(), "y": sb.types.categorical(delimiter=";")}
    _udt(types).train(rows, epochs=1, verbose=False)
    # it had trained as a row without a label, in silence
    with pytest.raises(ValueError, match=r"row 2: the target column 'y' holds no label \(';'\)"):
        _udt(types).train(rows[:2] + [dict(rows[2], y=";")] + rows[3:], epochs=1, verbose=False)


def test_a_date_format_with_an_offset_is_read_as_utc_and_clock_words_are_no_dates():
    from sparsebolt.automl.featurize import parse_times

    fmt = sb.types.date(format="%Y-%m-%d %H:%M:%S%z")
    secs, _ = parse_times("d", fmt, ["2020-01-01 23:30:00-0200", "2020-01-02 01:30:00+0000"], None)
    iso, _ = parse_times("d", sb.types.date(), ["2020-01-02T01:30:00Z", " 2020-01-02T01:30:00Z "], None)
    for value in ("0001-01-01 00:30:00+0100", "9999-12-31 23:30:00-0100"):  # a bare OverflowError had come out
        rows = [{"d": "2020-01-01 00:00:00+0000", "y": str(i % 2)} for i in range(20)]
        with pytest.raises(ValueError, match=r"row 1: column 'd': cannot read .* in UTC it falls outside the years"):
            _udt({"d": fmt, "y": sb.types.categorical()}).train([rows[0], dict(rows[1], d=value)] + rows[2:],
                                                                 epochs=1, verbose=False)
    # the offset had been dropped: 23:30 on Jan 1
    assert secs.tolist() == [iso[0]] * 2 and iso[0] == iso[1]
    rows = [{"d": "2020-05-01", "y": str(i % 2)} for i in range(20)]
    for word in ("now", "Today"):  # NumPy reads them as the clock's time, another date each run
        with pytest.raises(ValueError, match=rf"row 2: column 'd': cannot read '{word}' as a date in format 'iso': "
                                             r"a word for the current time is no date"):
            _udt({"d": sb.types.date(), "y": sb.types.categorical()}).train(
                rows[:2] + [dict(rows[2], d=word)] + rows[3:], epochs=1, verbose=False)


def test_a_numerical_target_beyond_what_float64_sums_hold_is_refused():
    types = {"c": sb.types.categorical(), "y": sb.types.numerical()}
    for low, high in ((-1e308, 1e308), (-1e308, -7e307), (1e300, 1e308)):
        rows = [{"c": "a" if i % 2 else "b", "y": high if i % 2 else low} for i in range(20)]
        # its bins' widths or sums overflowed: every prediction NaN and evaluate an MAE of 0, or a
        # model whose file could not be written (an infinite bin center)
        with pytest.raises(ValueError, match=re.escape(f"target column 'y' holds values from {low:g} to {high:g}; "
                                                       f"expected values of magnitude at most 1e+298")):
            _udt(types).train(rows, epochs=1, verbose=False)
    rows = [{"c": "a" if i % 2 else "b", "y": 1e298 if i % 2 else -1e298} for i in range(20)]
    model = _udt(types)
    model.train(rows, epochs=1, verbose=False)
    assert np.isfinite(list(model.evaluate(rows).values())).all()


def test_evaluate_gives_the_error_of_a_nan_prediction_as_nan():
    rows = [{"c": "a" if i % 2 else "b", "y": float(i % 2)} for i in range(40)]
    model = _udt({"c": sb.types.categorical(), "y": sb.types.numerical()})
    model.train(rows, epochs=1, verbose=False)
    assert np.isfinite(list(model.evaluate(rows).values())).all()
    model.model.layer("output").W.value[:] = np.nan  # a network that diverged
    # a NaN error had been reported as 0.0, a perfect score
    assert all(np.isnan(v) for v in model.evaluate(rows).values())


def test_flags_must_be_bools_where_a_string_would_read_as_true(tmp_path):
    model = _udt()
    rows = [{"t": "red", "y": "a"}, {"t": "blue", "y": "b"}] * 10
    for kw in ({"shuffle": "no"}, {"verbose": "no"}, {"label_augmentation": "yes"}):
        name, value = next(iter(kw.items()))
        with pytest.raises(ValueError, match=rf"The '{name}' parameter of train must be a bool\. Got {value!r}"):
            model.train(rows, epochs=1, **({"verbose": False} | kw))
    model.train(rows, epochs=1, verbose=0, shuffle=np.bool_(False))  # an int (sklearn's verbose) is a flag too
    with pytest.raises(ValueError, match=r"The 'sparse_inference' parameter of evaluate must be a bool\. Got 'no'"):
        model.evaluate(rows, sparse_inference="no")
    numbers = sb.UniversalDeepTransformer({"x": sb.types.numerical(), "y": sb.types.numerical()}, target="y",
                                          embedding_dim=8, input_dim=1024)
    numbers.train([{"x": float(i), "y": float(i % 7)} for i in range(60)], epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"The 'sparse_inference' parameter of evaluate must be a bool\. Got 'no'"):
        numbers.evaluate([{"x": 1.0, "y": 1.0}], sparse_inference="no")
    with pytest.raises(ValueError, match=r"The 'sparse_inference' parameter of predict must be a bool\. Got 'no'"):
        model.predict({"t": "red"}, sparse_inference="no")
    with pytest.raises(ValueError, match=r"The 'optimizer_state' parameter of save must be a bool\. Got 'no'"):
        model.save(tmp_path / "m.sbm", optimizer_state="no")
    assert not (tmp_path / "m.sbm").exists()
    model.save(tmp_path / "m.sbm")
    for kw in ({"mmap": "no"}, {"verify": "no"}, {"optimizer_state": 0.0}):
        name, value = next(iter(kw.items()))
        with pytest.raises(ValueError, match=rf"The '{name}' parameter of load must be a bool"):
            sb.UniversalDeepTransformer.load(tmp_path / "m.sbm", **kw)
    assert sb.UniversalDeepTransformer.load(tmp_path / "m.sbm", verify=None).predict({"t": "red"}) == \
        model.predict({"t": "red"})


def test_introduce_label_takes_one_label_and_rows_naming_itself():
    model = _udt({"t": sb.types.text(), "y": sb.types.categorical()})
    model.train([{"t": "red", "y": "a"}, {"t": "blue", "y": "b"}] * 10, epochs=1, verbose=False)
    # NaN, a missing label in training, and inf had made the classes 'nan' and 'inf'
    for label in (["x"], {"x": 1}, None, "", float("nan"), np.float32("nan"), float("inf"), -np.inf):
        with pytest.raises(ValueError, match=r"The 'label' parameter of introduce_label must be a label \(a string "
                                             r"or a finite number\)"):
            model.introduce_label([{"t": "green"}], label)
    with pytest.raises(TypeError, match=r"^The 'rows' parameter of introduce_label must be a list of row dicts or a "
                                        r"DataFrame \(put one row dict in a list\)\. Got dict instead\.$"):
        model.introduce_label({"t": "green"}, "c")
    with pytest.raises(ValueError, match=r"^The 'rows' parameter of introduce_label must hold at least one row\. Got "
                                         r"none instead\.$"):
        model.introduce_label([], "c")
    assert model.featurizer.labels.labels == ["a", "b"]
    assert model.introduce_label([{"t": "green"}], 7) == 2 and model.featurizer.labels.labels == ["a", "b", "7"]
    # a label holding a multi-label target's delimiter had made one class that training reads as two
    multi = _udt({"t": sb.types.text(), "y": sb.types.categorical(delimiter="|")})
    multi.train([{"t": "red", "y": "a|b"}, {"t": "blue", "y": "b"}] * 10, epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"The 'label' parameter of introduce_label must be one label, without the "
                                         r"target's delimiter '\|'\. Got 'c\|d' instead\."):
        multi.introduce_label([{"t": "green"}], "c|d")
    assert multi.featurizer.labels.labels == ["a", "b"] and multi.introduce_label([{"t": "green"}], "c") == 2


def test_integer_labels_take_numpy_integers_and_forget_says_it_needs_string_labels():
    model = _udt({"t": sb.types.text(), "y": sb.types.categorical(n_classes=2, label_type="int")})
    model.train([{"t": "red", "y": 0}, {"t": "blue", "y": 1}] * 10, epochs=1, verbose=False)
    assert model.explain({"t": "red blue"}, target=np.int64(1)) == model.explain({"t": "red blue"}, target=1)
    for bad in (np.bool_(True), 2, "1"):
        with pytest.raises(ValueError, match=r"The 'target' parameter of explain must be a class id in \[0, 2\)"):
            model.explain({"t": "red"}, target=bad)
    with pytest.raises(ValueError, match=r"forget needs string labels \(sb.types.categorical\(label_type='str'\)\)"):
        model.forget(1)


def test_a_list_as_a_node_id_or_as_neighbors_names_the_row():
    # its string would be made-up ids ('[1,' and '2]')
    rows = [{"id": i, "nb": [(i + 1) % 20, (i + 2) % 20], "y": "ab"[i % 2]} for i in range(20)]
    model = sb.UniversalDeepTransformer({"id": "node_id", "nb": "neighbors", "y": "categorical"}, target="y")
    with pytest.raises(DataFormatError, match=r"rows, row 0: column 'nb': expected the row's neighbor ids as one "
                                              r"string joined by ' ', got a list"):
        model.train(rows, epochs=1, verbose=False)
    model.train([{**r, "nb": " ".join(map(str, r["nb"]))} for r in rows], epochs=1, verbose=False)
    with pytest.raises(DataFormatError, match=r"column 'id': expected a node id \(a string or a number\), got a list"):
        model.predict({"id": [0]})
    assert model.predict({"id": 0, "nb": "1 2"}) == model.predict({"id": 0.0, "nb": "1 2"})


def test_a_date_format_strptime_cannot_read_is_refused_when_the_type_is_made():
    # every row had failed with "cannot read '2020-01-01' as a date in format '%Q'", blaming the data
    for fmt, reason in (("%Q", "'Q' is a bad directive in format '%Q'"), ("%Y-%", "stray % in format '%Y-%'")):
        with pytest.raises(ValueError, match=rf"The 'format' parameter of sb.types.date must be 'iso', 'unix' or a "
                                             rf"strptime format \({re.escape(reason)}\)\. Got '{re.escape(fmt)}'"):
            sb.types.date(fmt)
    assert sb.types.date("%d/%m/%Y").format == "%d/%m/%Y" and sb.types.date("unix").format == "unix"


def test_validation_rows_of_no_known_class_are_refused():
    # their log-loss was NaN each epoch and training kept its last weights
    model = _udt({"t": sb.types.text(), "y": sb.types.categorical()})
    rows = [{"t": "red", "y": "a"}, {"t": "blue", "y": "b"}] * 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # of the unseen labels
        with pytest.raises(ValueError, match=r"train: none of the 2 validation rows holds a class the model knows"):
            model.train(rows, validation=[{"t": "red", "y": "zz"}, {"t": "blue", "y": "qq"}], verbose=False)
        history = model.train(rows, validation=[{"t": "red", "y": "zz"}, {"t": "blue", "y": "b"}], verbose=False)
    assert history.best_epoch is not None


def test_numbers_a_subnormal_apart_or_near_float64s_limit_train_and_predict_quietly():
    # edges 1e-310 apart gave an infinite place (np.interp's slope) that the batch check
    # refused naming no column; values of +-1.7e308 gave an edge of -inf (NumPy's quantile)
    from sparsebolt.automl.featurize import _places, quantile_edges
    edges = np.array([1e-310, 2e-310, 3e-310])
    places = _places(np.array([0.0, 1.5e-310, 2.5e-310, 4e-310]), edges)
    np.testing.assert_allclose(places, [0, 0.25, 0.75, 1], rtol=1e-9)
    normal = np.random.default_rng(0).normal(size=50)
    np.testing.assert_array_equal(_places(normal, np.array([-1.0, 0.0, 0.5, 2.0])),
                                  np.interp(normal, [-1.0, 0.0, 0.5, 2.0], np.linspace(0, 1, 4)))
    huge = quantile_edges(np.array([(-1) ** i * 1.7e308 for i in range(40)] + [0.0, 1.0]), 4)
    assert np.isfinite(huge).all() and huge[0] == -1.7e308 and huge[-1] == 1.7e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rows in ([{"x": i * 1e-310, "y": "ab"[i % 2]} for i in range(40)],
                     [{"x": (-1) ** i * 1.7e308 * ((i % 3) / 2), "y": "ab"[i % 2]} for i in range(40)]):
            model = sb.UniversalDeepTransformer({"x": "numerical", "y": "categorical"}, target="y", embedding_dim=8,
                                                input_dim=1024)
            model.train(rows, epochs=2, verbose=False)
            assert model.predict({"x": rows[3]["x"]})[0][0] in ("a", "b")
