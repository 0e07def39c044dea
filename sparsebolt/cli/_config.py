"""The training config file of ``sparsebolt train``: TOML or JSON, checked key by key.

A config names a stack of layers over one sparse input (the training file's features),
the data settings, the training settings and optionally checkpoints::

    [model]                      # all optional but layers
    seed = 0
    loss = "categorical_cross_entropy"
    optimizer = "adam"           # or a table: {name = "adam", beta1 = 0.9}
    [[model.layers]]
    type = "Embedding"
    dim = 128
    activation = "relu"
    [[model.layers]]             # the last is the output; dim defaults to the label count
    type = "FullyConnected"
    sparsity = 0.02
    activation = "softmax"

    [data]
    batch_size = 256
    shuffle = true
    seed = 0

    [train]
    epochs = 3
    learning_rate = 0.001
    metrics = ["precision@1"]    # on the validation file after each epoch

    [checkpoint]
    dir = "checkpoints"
    every = 500
    keep = 3

A config with a ``[columns]`` table describes a UniversalDeepTransformer over a CSV file
instead: the columns' types (a type name, or a table of the type and its options as in
``sb.types``), the ``target`` column, its other settings in ``[options]`` and the training
settings in ``[train]`` (all optional: without ``epochs`` it decides how long to train)::

    target = "label"
    [columns]
    title = "text"
    price = {type = "numerical", bins = 20}
    label = "categorical"
    [options]                    # keyword arguments of sb.UniversalDeepTransformer
    embedding_dim = 256
    [train]                      # keyword arguments of its train()
    max_epochs = 20
    metrics = ["precision@1"]    # on --validation after each epoch
"""
import json
import os
import tomllib

from .. import nn
from .._validation import _fail, check_float, check_int, check_type
from ..nn.optimizers import OPTIMIZERS

SECTIONS = {
    "model": {"seed", "loss", "optimizer", "layers"},
    "data": {"batch_size", "shuffle", "seed", "n_features", "n_labels"},
    "train": {"epochs", "learning_rate", "metrics", "label_augmentation", "augment_from_epoch", "pin_labels"},
    "checkpoint": {"dir", "every", "keep"},
}
LAYERS = {"Embedding": nn.Embedding, "FullyConnected": nn.FullyConnected, "LayerNorm": nn.LayerNorm,
          "Dropout": nn.Dropout}


AUTOML_SECTIONS = {
    "target": None, "columns": None,
    "options": {"temporal_tracking", "history_length", "input_dim", "embedding_dim", "sparsity",
                "output_activation", "cross_column_pairgrams", "delimiter", "seed"},
    "train": {"epochs", "learning_rate", "batch_size", "max_epochs", "validation_metric", "metrics",
              "max_in_memory_rows", "label_augmentation", "pin_labels"},
}


class ConfigError(ValueError):
    """A config file that cannot be used; names the file."""


def load_config(path):
    """The config file as a dict with its sections checked for unknown keys."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        if path.endswith(".json"):
            config = json.loads(raw)
        elif path.endswith(".toml"):
            config = tomllib.loads(raw.decode("utf-8"))
        else:
            raise ConfigError(f"{path}: a config file must end in .toml or .json.")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid {'JSON' if path.endswith('.json') else 'TOML'}: {e}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a table of sections.")
    if is_automl(config):
        return _check_automl(path, config)
    for section, value in config.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}]; the sections are {', '.join(SECTIONS)}.")
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{section}] must be a table.")
        unknown = sorted(set(value) - SECTIONS[section])
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [{section}]; its keys are "
                              f"{', '.join(sorted(SECTIONS[section]))}.")
    if not config.get("model", {}).get("layers"):
        raise ConfigError(f"{path}: [model] needs 'layers', a list of at least one layer table.")
    return config


def is_automl(config):
    """Whether a loaded config describes a UniversalDeepTransformer (it has [columns])."""
    return "columns" in config


def _check_automl(path, config):
    for section, value in config.items():
        if section not in AUTOML_SECTIONS:
            raise ConfigError(f"{path}: unknown key or section {section!r}; a config with [columns] has "
                              f"{', '.join(AUTOML_SECTIONS)}.")
        keys = AUTOML_SECTIONS[section]
        if keys is None:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{section}] must be a table.")
        unknown = sorted(set(value) - keys)
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [{section}]; its keys are {', '.join(sorted(keys))}.")
    if not isinstance(config["columns"], dict) or not config["columns"]:
        raise ConfigError(f"{path}: [columns] must be a table of column name -> type.")
    if not isinstance(config.get("target"), str):
        raise ConfigError(f"{path}: 'target' (before the first section) must name the column to predict. "
                          f"Got {config.get('target')!r} instead.")
    return config


def build_automl(path, config):
    """The UniversalDeepTransformer of a config with [columns]."""
    from ..automl.udt import UniversalDeepTransformer
    try:
        return UniversalDeepTransformer(config["columns"], config["target"], **config.get("options", {}))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from None


def automl_train_settings(path, config):
    """Keyword arguments of ``UniversalDeepTransformer.train`` from [train], and
    ``pin_labels`` (whether to pin the training labels afterwards)."""
    train, owner = dict(config.get("train", {})), _owner(path, "train")
    out = {"pin_labels": check_type(owner, "pin_labels", train.pop("pin_labels", False), bool, "true or false")}
    for name in ("epochs", "batch_size", "max_epochs", "max_in_memory_rows"):
        if name in train:
            out[name] = check_int(owner, name, train[name], 1)
    if "learning_rate" in train:
        out["learning_rate"] = check_float(owner, "learning_rate", train["learning_rate"], 0.0, low_open=True)
    if "metrics" in train:
        out["metrics"] = check_type(owner, "metrics", train["metrics"], list, "a list of metric names")
    if "validation_metric" in train:
        out["validation_metric"] = check_type(owner, "validation_metric", train["validation_metric"], str, "a metric name")
    if "label_augmentation" in train:
        out["label_augmentation"] = check_type(owner, "label_augmentation", train["label_augmentation"], bool,
                                               "true or false")
    return out


def _owner(path, section):
    return f"{os.path.basename(path)} [{section}]"


def data_settings(path, config):
    """Keyword arguments of ``sb.data.load_svm`` for the training file."""
    data, owner = config.get("data", {}), _owner(path, "data")
    out = {"batch_size": check_int(owner, "batch_size", data.get("batch_size", 256), 1),
           "shuffle": check_type(owner, "shuffle", data.get("shuffle", True), bool, "true or false"),
           "seed": check_int(owner, "seed", data.get("seed", 0), 0)}
    for name in ("n_features", "n_labels"):
        if name in data:
            out[name] = check_int(owner, name, data[name], 1)
    return out


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_input_width(config, dataset):
    """Refuse, before allocating it, a first layer whose weights and Adam moments would not
    fit in memory, naming the line whose feature id made the input that wide (one stray id
    like ``2147483646:1`` in a file without a header does)."""
    layers = config["model"]["layers"]
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    width = first.get("dim") if isinstance(first.get("dim"), int) else dataset.n_labels
    need = 3 * 4 * dataset.n_features * max(int(width), 1)
    have = _memory_bytes()
    if have is not None and need > have:
        where = f" (the largest feature id, {dataset.n_features - 1:,}, is on line {dataset.widest_line})" \
            if dataset.widest_line is not None else ""
        raise ConfigError(f"{dataset.path}: the input is {dataset.n_features:,} features wide{where}; a first layer "
                          f"of width {width} would need {need / 2**30:,.0f} GiB for its weights and Adam's moments, "
                          f"more than this machine's {have / 2**30:,.0f} GiB. Check that line, or give [data] "
                          f"n_features.")


def build_model(path, config, n_features, n_labels):
    """The Model the config describes, over ``n_features`` inputs and ``n_labels`` outputs."""
    spec, owner = config["model"], _owner(path, "model")
    layers = check_type(owner, "layers", spec["layers"], list, "a list of layer tables")
    inp = x = nn.Input(dim=n_features, name="input")
    for i, layer in enumerate(layers):
        where = f"{os.path.basename(path)} [[model.layers]] #{i + 1}"
        if not isinstance(layer, dict) or layer.get("type") not in LAYERS:
            got = layer.get("type") if isinstance(layer, dict) else layer
            _fail(where, "type", f"one of {', '.join(repr(t) for t in LAYERS)}", got)
        kwargs = {k: v for k, v in layer.items() if k != "type"}
        if i == len(layers) - 1 and layer["type"] == "FullyConnected":
            kwargs.setdefault("dim", n_labels)
        try:
            x = LAYERS[layer["type"]](**kwargs)(x)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {e}") from None
    optimizer = spec.get("optimizer", "adam")
    try:
        if isinstance(optimizer, dict):
            kwargs = dict(optimizer)
            optimizer = OPTIMIZERS[kwargs.pop("name")](**kwargs)
        return nn.Model(inputs=inp, outputs=x,
                        loss=spec.get("loss", "categorical_cross_entropy"), optimizer=optimizer,
                        seed=check_int(owner, "seed", spec.get("seed", 0), 0))
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{path}: [model]: {e}") from None


def train_settings(path, config):
    """Keyword arguments of ``Model.train`` from [train] and [checkpoint], and
    ``pin_labels`` (whether to call ``Model.pin_labels`` on the training data afterwards)."""
    train, owner = config.get("train", {}), _owner(path, "train")
    metrics = train.get("metrics", [])
    out = {"epochs": check_int(owner, "epochs", train.get("epochs", 1), 1),
           "learning_rate": check_float(owner, "learning_rate", train.get("learning_rate", 1e-3), 0.0, low_open=True),
           "metrics": check_type(owner, "metrics", metrics, list, "a list of metric names"),
           "label_augmentation": check_type(owner, "label_augmentation", train.get("label_augmentation", True),
                                            bool, "true or false"),
           "augment_from_epoch": check_int(owner, "augment_from_epoch", train.get("augment_from_epoch", 1), 0),
           "pin_labels": check_type(owner, "pin_labels", train.get("pin_labels", False), bool, "true or false")}
    ckpt, owner = config.get("checkpoint", {}), _owner(path, "checkpoint")
    if "dir" in ckpt:
        out["checkpoint_dir"] = check_type(owner, "dir", ckpt["dir"], str, "a directory path")
    if "every" in ckpt:
        out["checkpoint_every"] = check_int(owner, "every", ckpt["every"], 1)
    if "keep" in ckpt:
        out["keep"] = check_int(owner, "keep", ckpt["keep"], 1)
    return out
