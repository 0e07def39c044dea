"""What ``sparsebolt info`` shows of a model or its file: every layer with its width and
parameters (a table saved by its trained rows counted whole), and a malformed manifest as the
file's error."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.io import Archive, ModelFileError

from .helpers import _table_model, rewrite


def test_a_table_saved_as_its_rows_is_described_whole(tmp_path):
    model = _table_model(np.arange(0, 600, 2, dtype=np.int32))
    model.save(tmp_path / "m.sbm")
    with Archive(tmp_path / "m.sbm") as archive:
        assert "layers/emb/rows/E" in archive.keys()
    from sparsebolt.io._describe import describe_file, describe_model
    for described in (describe_file(tmp_path / "m.sbm"), describe_model(model)):
        assert described["layers"][0]["parameters"] == 20_000 * 64 + 64


def test_a_compact_table_behind_a_concatenation_is_described_whole(tmp_path):
    a, b = sb.Input(dim=10_000, name="a"), sb.Input(dim=10_000, name="b")
    emb = sb.Embedding(64, name="emb")(sb.Concatenate(name="cat")(a, b))
    model = sb.Model([a, b], sb.FullyConnected(4, activation="softmax", name="out")(emb), seed=0)
    meta, arrays = model.get_state()
    assert "layers/emb/rows/E" in arrays  # nothing trained: no row moved
    from sparsebolt.io._describe import describe_model
    assert describe_model(model)["layers"][1]["parameters"] == 20_000 * 64 + 64


def test_every_layer_is_described_with_its_width(tmp_path):
    # the layers without a 'dim' of their own take it from their inputs
    a, b = sb.Input(dim=50, name="a"), sb.Input(dim=30, name="b")
    h = sb.LayerNorm(name="norm")(sb.Dropout(0.2, name="drop")(sb.Embedding(8, name="emb")(a)))
    out = sb.FullyConnected(3, activation="softmax", name="out")(sb.Concatenate(name="cat")(h, sb.Embedding(4)(b)))
    model = sb.Model([a, b], out)
    model.save(tmp_path / "m.sbm")
    from sparsebolt.io._describe import describe_file, describe_model
    for described in (describe_file(tmp_path / "m.sbm"), describe_model(model)):
        widths = {x["name"]: x["dim"] for x in described["layers"]}
        assert widths == {"emb": 8, "drop": 8, "norm": 8, "embedding_1": 4, "cat": 12, "out": 3}


@pytest.mark.parametrize("change", [
    lambda m: {**m, "state": [1]},
    lambda m: {**m, "model": "x"},
    lambda m: {**m, "arrays": {k: {**v, "shape": "1000x32"} for k, v in m["arrays"].items()}},
    lambda m: {**m, "model": {**m["model"], "layers": [{**m["model"]["layers"][-1], "config": {
        **m["model"]["layers"][-1]["config"], "sparsity": "nan"}}]}},
])
def test_info_on_a_malformed_manifest_is_a_model_file_error_not_a_traceback(saved, tmp_path, change, capsys):
    # issue 15, finding 5
    from sparsebolt.cli import main
    from sparsebolt.io._describe import describe_file
    _, _, path = saved
    rewrite(path, tmp_path / "odd.sbm", manifest_fn=change)
    with pytest.raises(ModelFileError, match="odd.sbm: member 'manifest.json' does not describe a model"):
        describe_file(tmp_path / "odd.sbm")
    assert main(["info", str(tmp_path / "odd.sbm")]) == 1
    assert "does not describe a model" in capsys.readouterr().err
