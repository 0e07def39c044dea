"""The command line with a UniversalDeepTransformer: train from a [columns] config and a
CSV, then evaluate and predict with CSV files or JSON rows."""
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


def test_train_evaluate_and_predict_a_udt_from_the_shell(files, capsys):
    assert main(["train", files["config"], files["train"], "--validation", files["test"], "-o", files["model"],
                 "-q"]) == 0
    udt = sb.UniversalDeepTransformer.load(files["model"])
    assert udt.model.epochs == 3 and udt.embedding_dim == 32
    capsys.readouterr()
    assert main(["evaluate", files["model"], files["test"], "-m", "categorical_accuracy", "-q"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == udt.evaluate(files["test"], metrics=["categorical_accuracy"]) and got["categorical_accuracy"] > 0.9
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
    rows.write_text('{"review": "fine", "price": 3}\n{"review": "ok", "price": "cheap"}\n')
    capsys.readouterr()
    assert main(["predict", files["model"], str(rows), "-q"]) == 1
    err = capsys.readouterr().err
    assert "rows.jsonl" in err and "expected a number, got 'cheap'" in err, err


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
