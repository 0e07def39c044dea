"""The sparsebolt command, run as a real subprocess: train from a config, info, predict,
evaluate, resume, and the exit codes scripts rely on."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sparsebolt as sb

from ..synthetic import clustered

SCRIPT = Path(sys.executable).parent / "sparsebolt"
CONFIG = """
[model]
seed = 1

[[model.layers]]
type = "Embedding"
dim = 32
activation = "relu"

[[model.layers]]
type = "FullyConnected"
sparsity = 0.1
activation = "softmax"

[data]
batch_size = 128

[train]
epochs = 2
learning_rate = 0.01
metrics = ["precision@1"]

[checkpoint]
every = 5
keep = 2
"""


def sparsebolt(*args, stdin=None, cwd=None):
    assert SCRIPT.exists(), f"the console script is not installed at {SCRIPT} (pip install -e .)"
    return subprocess.run([str(SCRIPT), *map(str, args)], input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A directory with train.svm, test.svm, train.toml and model.sbm trained by the CLI."""
    d = tmp_path_factory.mktemp("cli")
    sb.data.write_svm(d / "train.svm", clustered(n=1500, seed=0), n_labels=500)
    sb.data.write_svm(d / "test.svm", clustered(n=300, seed=0), n_labels=500)
    (d / "train.toml").write_text(CONFIG)
    run = sparsebolt("train", "train.toml", "train.svm", "--validation", "test.svm", "-o", "model.sbm",
                     "--checkpoint-dir", "ckpt", cwd=d)
    assert run.returncode == 0, run.stderr
    assert "epoch=2" in run.stdout and "val_precision@1=" in run.stdout
    assert "saved model.sbm" in run.stderr
    return d


def test_train_saves_a_model_and_checkpoints(trained):
    model = sb.Model.load(trained / "model.sbm")
    assert model.steps == 2 * 12 and model.output.dim == 500 and model.inputs[0].dim == 2000
    assert sorted(p.name for p in (trained / "ckpt").iterdir()) == ["ckpt-0000000020.sbm", "ckpt-0000000024.sbm"]
    again = sparsebolt("train", "train.toml", "train.svm", "-o", "again.sbm", "--checkpoint-dir", "ckpt", "--resume",
                       cwd=trained)
    assert again.returncode == 0, again.stderr
    assert "resuming from ckpt/ckpt-0000000024.sbm: epoch 3, 0 batches into it, step 24" in again.stdout
    assert sb.Model.load(trained / "again.sbm").steps == 24


def test_train_can_pin_the_labels_after_one_epoch(trained):
    config = CONFIG.replace("epochs = 2", "epochs = 1\npin_labels = true")
    (trained / "pin.toml").write_text(config)
    run = sparsebolt("train", "pin.toml", "train.svm", "-o", "pinned.sbm", "--quiet", cwd=trained)
    assert run.returncode == 0, run.stderr
    index = sb.Model.load(trained / "pinned.sbm").output.layer.index
    assert index.frozen and index.labels_inserted > 0
    (trained / "dense.toml").write_text(config.replace("sparsity = 0.1", "sparsity = 1.0"))
    run = sparsebolt("train", "dense.toml", "train.svm", "-o", "dense.sbm", "--quiet", cwd=trained)
    assert run.returncode == 1 and "dense.toml: [train] pin_labels needs an output layer with sparsity < 1" in run.stderr
    assert "epoch" not in run.stdout   # refused before training


def test_info_describes_layers_sparsity_hashing_and_version(trained):
    run = sparsebolt("info", trained / "model.sbm")
    assert run.returncode == 0, run.stderr
    text = run.stdout
    version = sb.io.open_model_file(trained / "model.sbm").manifest["format_version"]
    assert f"sparsebolt model, format version {version}" in text
    assert "FullyConnected  dim=500" in text and "sparsity=0.1" in text and "LSH dwta K=" in text
    assert "trained 24 steps" in text
    run = sparsebolt("info", trained / "model.sbm", "--json", "--verify")
    assert run.returncode == 0, run.stderr
    d = json.loads(run.stdout)
    assert d["verified"] and d["format_version"] == version and d["steps"] == 24
    assert d["layers"][1]["lsh"]["frozen"] and d["layers"][1]["parameters"] == 500 * 32 + 500


def test_predict_matches_the_api_from_a_file_and_from_stdin(trained, one_thread):
    model = sb.Model.load(trained / "model.sbm")
    test = sb.data.load_svm(trained / "test.svm", n_features=2000, n_labels=500)
    for flags, sparse in (((), False), (("--sparse-inference",), True)):
        ids, scores = model.predict(test, top_k=3, sparse_inference=sparse)
        # bit for bit on one thread and the same batches; BLAS kernels for some CPUs (AVX2
        # OpenBLAS) round a row differently when it sits in a batch of another size or is
        # split across threads, so other settings agree to float32 rounding
        for settings, exact in ((("--batch-size", "256", "--threads", "1"), True), ((), False)):
            run = sparsebolt("predict", trained / "model.sbm", trained / "test.svm", "-k", "3", *flags, *settings)
            assert run.returncode == 0, run.stderr
            rows = [json.loads(line) for line in run.stdout.splitlines()]
            assert [r["ids"] for r in rows] == ids.tolist()
            got = np.array([r["scores"] for r in rows], dtype=np.float32)
            if exact:
                np.testing.assert_array_equal(got, scores)
            else:
                np.testing.assert_allclose(got, scores, rtol=1e-5)
    first = clustered(n=300, seed=0).batch([0]).inputs[0]
    line = json.dumps({"ids": first.ids.tolist(), "values": first.vals.tolist()})
    run = sparsebolt("predict", trained / "model.sbm", "-", "--top-k", "2", stdin=f"{line}\n\n{line}\n")
    assert run.returncode == 0, run.stderr
    dense_ids = model.predict(test, top_k=2)[0]
    assert [json.loads(x)["ids"] for x in run.stdout.splitlines()] == [dense_ids[0].tolist()] * 2


def test_evaluate_prints_the_metrics_as_json(trained):
    run = sparsebolt("evaluate", trained / "model.sbm", trained / "test.svm", "-m", "precision@1", "-m", "recall@5", "-q")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    model = sb.Model.load(trained / "model.sbm")
    test = sb.data.load_svm(trained / "test.svm", n_features=2000, n_labels=500)
    assert result == pytest.approx(model.evaluate(test, ["precision@1", "recall@5"]))
    assert result["precision@1"] > 0.1   # chance is 0.002


def test_exit_codes(trained, tmp_path):
    assert sparsebolt("--help").returncode == 0
    assert sparsebolt("predict", "--help").returncode == 0
    usage = sparsebolt("predict")
    assert usage.returncode == 2 and "Missing argument 'MODEL'" in usage.stderr
    assert sparsebolt("predict", trained / "model.sbm", "--top-k", "0").returncode == 2
    assert sparsebolt("frobnicate").returncode == 2
    missing = sparsebolt("info", tmp_path / "none.sbm")
    assert missing.returncode == 1 and "No model file at" in missing.stderr and "none.sbm" in missing.stderr
    damaged = tmp_path / "damaged.sbm"
    damaged.write_bytes((trained / "model.sbm").read_bytes()[:-100])
    run = sparsebolt("predict", damaged, trained / "test.svm")
    assert run.returncode == 1 and "damaged.sbm is not a complete sparsebolt model file" in run.stderr
    run = sparsebolt("predict", trained / "model.sbm", "-", stdin='{"ids": [1, 2]}\n{"ids": [1, 99999]}\n')
    assert run.returncode == 1
    assert "stdin, line 2: feature id 99999 in 'ids' is out of range: the model has 2000 input features" in run.stderr
    # beyond float32 a value had become inf, reported as 'Sample 1 has inf' without its line
    run = sparsebolt("predict", trained / "model.sbm", "-", stdin='{"ids": [1]}\n{"ids": [1], "values": [1e39]}\n')
    assert run.returncode == 1
    assert "stdin, line 2: 'values' must be a list of finite numbers within float32's" in run.stderr
    (tmp_path / "bad.toml").write_text(CONFIG.replace("epochs = 2", "epochs = 0"))
    run = sparsebolt("train", tmp_path / "bad.toml", trained / "train.svm", "-o", tmp_path / "m.sbm")
    assert run.returncode == 1
    assert "The 'epochs' parameter of bad.toml [train] must be an int >= 1. Got 0 instead." in run.stderr
    assert not (tmp_path / "m.sbm").exists()
