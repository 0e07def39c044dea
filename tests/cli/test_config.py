"""Config files of the train command: errors name the file, the section and the key; JSON
builds the model TOML does; Dropout may sit between layers."""
import json

import pytest

from sparsebolt.cli._config import ConfigError, build_model, load_config

from .test_cli import CONFIG


@pytest.mark.parametrize("text, message", [
    ('[model]\nlayers = []', r"\[model\] needs 'layers'"),
    ('[modle]\nx = 1', r"unknown section \[modle\]"),
    ('[model]\nlayers = [{type = "FullyConnected", dim = 5, sparsity = 2.0}]',
     r"\[\[model.layers\]\] #1: The 'sparsity' parameter of FullyConnected must be a number in \(0.0, 1.0\]"),
    ('[model]\nlayers = [{type = "Conv2D"}]', r"The 'type' parameter of c.toml \[\[model.layers\]\] #1 must be one of"),
    ('[model]\nlayers = [{type = "Embedding", dim = 4, color = "red"}]', r"unexpected keyword argument 'color'"),
    ('[data]\nbatchsize = 5', r"unknown key 'batchsize' in \[data\]; its keys are batch_size"),
    ('[model\n', r"not valid TOML"),
])
def test_config_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises((ConfigError, ValueError), match=message):
        build_model(str(path), load_config(path), 10, 5)


def test_a_json_config_builds_the_same_model_as_toml(tmp_path):
    import tomllib
    (tmp_path / "c.json").write_text(json.dumps(tomllib.loads(CONFIG)))
    (tmp_path / "c.toml").write_text(CONFIG)
    configs = [build_model(str(p), load_config(p), 2000, 500).get_config() for p in (tmp_path / "c.json", tmp_path / "c.toml")]
    assert configs[0]["layers"][-1]["config"]["dim"] == 500
    assert [x["config"] | {"name": None} for x in configs[0]["layers"]] == \
           [x["config"] | {"name": None} for x in configs[1]["layers"]]


def test_a_config_may_put_dropout_between_layers(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\nlayers = [{type = "Embedding", dim = 8, activation = "relu"}, '
                    '{type = "Dropout", rate = 0.2}, {type = "FullyConnected", activation = "softmax"}]')
    layers = build_model(str(path), load_config(path), 10, 5).get_config()["layers"]
    assert [x["class"] for x in layers] == ["Embedding", "Dropout", "FullyConnected"]
    assert layers[1]["config"]["rate"] == 0.2 and layers[2]["config"]["dim"] == 5
    path.write_text('[model]\nlayers = [{type = "Dropout", rate = 1.0}, {type = "FullyConnected"}]')
    with pytest.raises(ConfigError, match=r"#1: The 'rate' parameter of Dropout must be a number in \[0.0, 1.0\)"):
        build_model(str(path), load_config(path), 10, 5)
