"""The command line with a UniversalDeepTransformer: train from a [columns] config and a
CSV, then evaluate and predict with CSV files or JSON rows."""
import gzip
import json

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.cli import main

from ..automl.test_udt import _reviews, _write_csv

CONFIG = """
target = "recommended"

[columns]
review = "text"
price = {type = "numerical", bins = 8}
recommended = "categorical"

[options]
embedding_dim = 32
input_dim = 4096

[train]
epochs = 3
learning_rate = 0.005
metrics = ["categorical_accuracy"]
"""


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[text, f"{rng.uniform(5, 50):.2f}", label] for text, label in _reviews(rng, 400)]
    header = ["review", "price", "recommended"]
    (tmp_path / "udt.toml").write_text(CONFIG)
    return {"config": str(tmp_path / "udt.toml"), "train": _write_csv(tmp_path / "train.csv", header, rows[:300]),
            "test": _write_csv(tmp_path / "test.csv", header, rows[300:]),
            "rows": [dict(zip(header[:2], r[:2])) for r in rows[300:]], "model": str(tmp_path / "udt.sbm"),
            "dir": tmp_path}


def test_a_field_over_the_csv_modules_limit_reads_from_the_shell(files, capsys):
    import csv

    long_review = "great fit " * 20_000  # 200,000 characters, over the csv module's 131,072
    header = ["review", "price", "recommended"]
    rows = [[long_review if i == 0 else r["review"], r["price"], "1" if i % 2 else "0"]
            for i, r in enumerate(files["rows"] * 2)]
    path = _write_csv(files["dir"] / "long.csv", header, rows)
    limit = csv.field_size_limit()
    assert main(["train", files["config"], path, "-o", files["model"], "-q"]) == 0
    assert csv.field_size_limit() == limit  # put back for the process that called main
    with pytest.raises(sb.data.DataFormatError, match="field limit"):  # the API says how to lift it
        sb.UniversalDeepTransformer.load(files["model"]).evaluate(path)


def test_train_evaluate_and_predict_a_udt_from_the_shell(files, capsys):
    assert main(["train", files["config"], files["train"], "--validation", files["test"], "-o", files["model"],
                 "-q"]) == 0
    udt = sb.UniversalDeepTransformer.load(files["model"])
    assert udt.model.epochs == 3 and udt.embedding_dim == 32
    capsys.readouterr()
    assert main(["evaluate", files["model"], files["test"], "-m", "categorical_accuracy", "-q"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == udt.evaluate(files["test"], metrics=["categorical_accuracy"]) and got["categorical_accuracy"] > 0.9
    assert main(["evaluate", files["model"], files["test"], "-q"]) == 0    # the model's own default metric
    assert json.loads(capsys.readouterr().out) == got
    want = udt.predict_batch(files["rows"], top_k=2)
    assert main(["predict", files["model"], files["test"], "-k", "2", "-q"]) == 0    # CSV, target column ignored
    from_csv = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    jsonl = files["dir"] / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in files["rows"]))
    assert main(["predict", files["model"], str(jsonl), "-k", "2", "-q"]) == 0
    from_json = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for got in (from_csv, from_json):
        assert [p["labels"] for p in got] == [[label for label, _ in r] for r in want]
        np.testing.assert_allclose([p["scores"] for p in got], [[s for _, s in r] for r in want], rtol=1e-6)


@pytest.mark.parametrize("config, message", [
    (CONFIG.replace('target = "recommended"', 'target = "colour"'), "The 'target' parameter"),
    (CONFIG.replace('target = "recommended"\n', ""), "'target' (before the first section)"),
    (CONFIG.replace("embedding_dim = 32", "embedding_width = 32"), "unknown key 'embedding_width' in [options]"),
    (CONFIG.replace('price = {type = "numerical", bins = 8}', 'price = "number"'), "column 'price'"),
    (CONFIG.replace("epochs = 3", "epochs = 0"), "'epochs' parameter of udt.toml [train]"),
])
def test_a_bad_udt_config_fails_naming_the_file_and_key(files, capsys, config, message):
    (files["dir"] / "udt.toml").write_text(config)
    assert main(["train", files["config"], files["train"], "-o", files["model"], "-q"]) == 1
    err = capsys.readouterr().err
    assert "udt.toml" in err and message in err, err


def test_a_bad_row_to_predict_names_the_file_and_line(files, capsys):
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    rows = files["dir"] / "rows.jsonl"
    rows.write_text('{"review": "fine", "price": 3}\n\n{"review": "ok", "price": "cheap"}\n')
    capsys.readouterr()
    assert main(["predict", files["model"], str(rows), "-q"]) == 1
    err = capsys.readouterr().err
    # the row's own line (the batch's first line and its place in it had been given)
    assert "rows.jsonl, line 3: column 'price': expected a number, got 'cheap'" in err, err
    # as the server refuses them: they had been predicted (NaN, true as 1, the target ignored)
    for row, message in (('{"review": "ok", "price": NaN}', "column 'price': numbers must be finite"),
                         ('{"review": "ok", "price": true}', "column 'price' is numerical: expected a number or "
                                                              "a string of one (or null), got bool"),
                         ('{"review": "ok", "price": 3, "recommended": "1"}',
                          "column 'recommended' is the target, which the model predicts")):
        rows.write_text('{"review": "fine", "price": 3}\n' + row + "\n")
        assert main(["predict", files["model"], str(rows), "-q"]) == 1
        err = capsys.readouterr().err
        assert f"rows.jsonl, line 2: {message}" in err, err


def test_evaluate_gives_a_numerical_targets_errors_by_default(files, capsys):
    rows = [{"review": r["review"], "price": float(r["price"])} for r in files["rows"]]
    udt = sb.UniversalDeepTransformer({"review": sb.types.text(), "price": sb.types.numerical()}, target="price",
                                      embedding_dim=16, input_dim=4096)
    udt.train(rows, epochs=2, verbose=False)
    udt.save(files["dir"] / "reg.sbm")
    capsys.readouterr()
    assert main(["evaluate", str(files["dir"] / "reg.sbm"), files["test"], "-q"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == udt.evaluate(files["test"]) and set(got) == {"mae", "rmse"}


def test_predict_reads_a_csv_as_evaluate_and_predict_batch_do(files, capsys, monkeypatch):
    import io
    import pandas as pd
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    udt = sb.UniversalDeepTransformer.load(files["model"])
    test = pd.read_csv(files["test"])
    want = [[label for label, _ in r] for r in udt.predict_batch(files["test"], top_k=2)]
    # another column beside the model's is left out, a byte-order mark read past, as the
    # library's own reader does (the command's reader had refused both)
    marked = files["dir"] / "marked.csv"
    marked.write_text(test.assign(row_id=range(len(test))).to_csv(index=False), encoding="utf-8-sig")
    capsys.readouterr()
    assert main(["predict", files["model"], str(marked), "-k", "2", "-q"]) == 0
    assert [json.loads(line)["labels"] for line in capsys.readouterr().out.splitlines()] == want
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(marked.read_bytes())))
    assert main(["predict", files["model"], "-", "-k", "2", "-q"]) == 0
    assert [json.loads(line)["labels"] for line in capsys.readouterr().out.splitlines()] == want
    # a model column missing from the header is refused (it had been read as missing on every row)
    short = files["dir"] / "short.csv"
    test.drop(columns=["price"]).to_csv(short, index=False)
    assert main(["predict", files["model"], str(short), "-q"]) == 1
    assert "short.csv, line 1: no column(s) ['price']" in capsys.readouterr().err
    for text, message in (("", "stdin: the file is empty"), ("not json\n", "stdin, line 1: no column(s)")):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        assert main(["predict", files["model"], "-", "-q"]) == 1
        captured = capsys.readouterr()
        assert message in captured.err and captured.out == "", captured.err


def _damaged_copy(files):
    """A trained model file with an exponent bit of one output weight flipped, past the .npy
    header: the zip directory stays whole, only the array's checksum tells."""
    import zipfile
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    with zipfile.ZipFile(files["model"]) as z:
        info = z.getinfo(json.loads(z.read("manifest.json"))["arrays"]["layers/output/W"]["member"])
    raw = bytearray(open(files["model"], "rb").read())
    raw[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 131] ^= 0x40
    damaged = files["dir"] / "damaged.sbm"
    damaged.write_bytes(bytes(raw))
    return damaged


def test_a_damaged_array_is_refused_unless_checksums_are_skipped(files, capsys):
    damaged = _damaged_copy(files)
    capsys.readouterr()
    for command in (["evaluate", str(damaged), files["test"], "-q"], ["predict", str(damaged), files["test"], "-q"]):
        assert main(command) == 1
        assert "array 'layers/output/W') is corrupted" in capsys.readouterr().err
        assert main(command + ["--no-verify"]) == 0


def test_train_refuses_an_output_folder_that_does_not_exist_before_training(files, capsys):
    assert main(["train", files["config"], files["train"], "-o", str(files["dir"] / "none" / "m.sbm"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "Cannot save the model to" in err and "there is no directory" in err and "epoch" not in err


def test_pin_labels_on_a_dense_output_keeps_the_trained_model(files, capsys):
    # the output's sparsity follows the classes, known after training: the model is saved, unpinned
    (files["dir"] / "udt.toml").write_text(CONFIG.replace("[train]\n", "[train]\npin_labels = true\n"))
    assert main(["train", files["config"], files["train"], "-o", files["model"], "-q"]) == 1
    assert "pin_labels needs a sparse output layer" in capsys.readouterr().err
    assert sb.UniversalDeepTransformer.load(files["model"]).model.epochs == 3


def test_a_warning_reads_as_one_line_of_the_command(files, capsys):
    import pandas as pd
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    unseen = files["dir"] / "unseen.csv"
    pd.read_csv(files["test"]).assign(recommended="maybe").to_csv(unseen, index=False)
    capsys.readouterr()
    assert main(["evaluate", files["model"], str(unseen), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "never seen in training" in err and "UserWarning" not in err, err


def test_predict_reads_a_csv_in_batch_size_chunks_after_blank_lines(files, capsys, monkeypatch):
    import io
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    want = [[label for label, _ in r] for r in sb.UniversalDeepTransformer.load(files["model"]).predict_batch(
        files["test"], top_k=2)]
    text = open(files["test"], "rb").read()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\n\n" + text)))
    capsys.readouterr()
    assert main(["predict", files["model"], "-", "-k", "2", "--batch-size", "7", "-q"]) == 0
    assert [json.loads(line)["labels"] for line in capsys.readouterr().out.splitlines()] == want


def test_serve_refuses_a_damaged_model_file_by_default(files, capsys):
    damaged = _damaged_copy(files)
    capsys.readouterr()
    assert main(["serve", str(damaged), "--port", "0"]) == 1
    assert "array 'layers/output/W') is corrupted" in capsys.readouterr().err


def test_serve_takes_a_cap_below_the_default_top_k(files, capsys, monkeypatch):
    # --max-top-k 3 had failed on create_app's check of the CLI's own default --top-k 5
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    served = {}
    monkeypatch.setattr("sparsebolt.serve.run", lambda model, **kw: served.update(kw))
    assert main(["serve", files["model"], "--max-top-k", "3"]) == 0
    assert (served["default_top_k"], served["max_top_k"]) == (3, 3)
    assert main(["serve", files["model"]]) == 0 and served["default_top_k"] == 5
    capsys.readouterr()
    assert main(["serve", files["model"], "--top-k", "7", "--max-top-k", "3"]) == 2
    assert "'--top-k': 7 is above --max-top-k (3)" in capsys.readouterr().err


def test_serve_takes_every_log_level_the_server_does(files, capsys, monkeypatch):
    # the command line had its own list, without uvicorn's 'trace'
    from sparsebolt.serve.app import LOG_LEVELS
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    served = {}
    monkeypatch.setattr("sparsebolt.serve.run", lambda model, **kw: served.update(kw))
    for level in LOG_LEVELS:
        assert main(["serve", files["model"], "--log-level", level]) == 0 and served["log_level"] == level
    capsys.readouterr()
    assert main(["serve", files["model"], "--log-level", "verbose"]) == 2
    assert "'verbose' is not one of" in capsys.readouterr().err


def test_a_damaged_gzip_file_is_a_failure_naming_it_not_an_interrupt(files, capsys):
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    whole = gzip.compress(open(files["test"], "rb").read())
    for name, data in (("cut.csv.gz", whole[:len(whole) // 2]), ("plain.csv.gz", b"review,price\nok,3\n")):
        path = files["dir"] / name
        path.write_bytes(data)
        capsys.readouterr()
        # gzip's EOFError, left to click, read as Ctrl-D: exit 130 and 'interrupted'
        assert main(["evaluate", files["model"], str(path), "-q"]) == 1
        err = capsys.readouterr().err
        assert f"{name}: cannot be read as gzip" in err and "Traceback" not in err, err


def test_an_undefined_metric_is_null_in_strict_json(files, capsys):
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    one_class = files["dir"] / "one.csv"
    one_class.write_text("review,price,recommended\n" + "".join(f"nice {i},3,yes\n" for i in range(20)))
    capsys.readouterr()
    assert main(["evaluate", files["model"], str(one_class), "-m", "auc", "-q"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out, parse_constant=pytest.fail) == {"auc": None}
    assert "warning: auc is undefined (NaN): the samples scored hold 20 positive and 0 negative" in err, err


def test_json_lines_that_are_not_utf8_name_the_file(files, capsys):
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    rows = files["dir"] / "latin1.jsonl"
    rows.write_bytes(b'{"review": "fine", "price": 3}\n{"review": "caf\xe9", "price": 3}\n')
    capsys.readouterr()
    assert main(["predict", files["model"], str(rows), "-q"]) == 1
    err = capsys.readouterr().err
    assert "latin1.jsonl: is not UTF-8 text" in err and "Traceback" not in err, err


def test_metrics_that_are_not_finite_are_null_and_an_untrained_file_is_refused_by_name(files, capsys):
    from sparsebolt.cli import _metrics_json
    # an infinite error (a regression's) had ended in a traceback: JSON refuses Infinity as it does NaN
    assert json.loads(_metrics_json({"mae": float("inf"), "auc": float("nan"), "rmse": 2.5}),
                      parse_constant=pytest.fail) == {"mae": None, "auc": None, "rmse": 2.5}
    untrained = sb.UniversalDeepTransformer({"review": sb.types.text(),
                                             "recommended": sb.types.categorical(n_classes=2)}, target="recommended")
    untrained.save(files["dir"] / "untrained.sbm")
    capsys.readouterr()
    for command in (["evaluate", str(files["dir"] / "untrained.sbm"), files["test"]],
                    ["predict", str(files["dir"] / "untrained.sbm"), files["test"]]):
        # a traceback, or (predict from a CSV) an empty answer a row
        assert main(command + ["-q"]) == 1
        err = capsys.readouterr().err
        assert "untrained.sbm holds a UniversalDeepTransformer saved before train" in err and "Traceback" not in err


def test_an_input_format_the_model_does_not_read_is_a_usage_error(files, capsys, tmp_path):
    main(["train", files["config"], files["train"], "-o", files["model"], "-q"])
    capsys.readouterr()
    # it had been exit 1 here and 2 the other way round (--format csv with a network of feature ids)
    assert main(["predict", files["model"], files["test"], "--format", "svm", "-q"]) == 2
    assert "--format svm is for networks of feature ids" in capsys.readouterr().err
    inp = sb.Input(dim=10)
    model = sb.Model(inp, sb.FullyConnected(3, activation="softmax")(inp), loss="categorical_cross_entropy")
    model.save(tmp_path / "plain.sbm")
    assert main(["predict", str(tmp_path / "plain.sbm"), files["test"], "--format", "csv", "-q"]) == 2
