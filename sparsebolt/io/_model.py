"""A Model to and from a model file: the graph config, each layer's and the optimizer's
state (see ``sparsebolt._state``) and a format version, in the container of ``_archive``."""
import datetime
import json
import os

from .._state import prefixed, unprefixed
from ..nn.layers import Concatenate, Embedding, FullyConnected, InputLayer, LayerNorm
from ..nn.losses import LOSSES
from ..nn.model import Model
from ..nn.optimizers import OPTIMIZERS
from ._archive import Archive, write_archive
from .errors import ModelFileError

FORMAT = "sparsebolt-model"
FORMAT_VERSION = 1
LAYER_CLASSES = {cls.__name__: cls for cls in (Embedding, FullyConnected, Concatenate, LayerNorm)}


def check_savable(model, verb="save", holder="model files hold"):
    """Only the library's own layer, loss and optimizer classes can be rebuilt from a file
    (or from the same config and arrays elsewhere: ``verb`` and ``holder`` word the error
    for that use)."""
    for layer in model.layers:
        if LAYER_CLASSES.get(type(layer).__name__) is not type(layer):
            raise TypeError(f"Cannot {verb} layer '{layer.name}' of class {type(layer).__name__}: {holder} "
                            f"the built-in layers only ({', '.join(LAYER_CLASSES)}).")
    for what, obj, registry in (("loss", model.loss, LOSSES), ("optimizer", model.optimizer, OPTIMIZERS)):
        if registry.get(obj.get_config().get("name")) is not type(obj):
            raise TypeError(f"Cannot {verb} a model whose {what} is a {type(obj).__name__}: {holder} the "
                            f"built-in ones only ({', '.join(registry)}).")


def model_state(model, optimizer_state=True):
    """(state meta, {key: array}) of a model: layers under ``layers/<name>/``, the
    optimizer under ``optimizer/``."""
    meta = {"steps": model.steps, "epochs": model.epochs, "layers": {}, "optimizer": None}
    arrays = {}
    for layer in model.layers:
        meta["layers"][layer.name], layer_arrays = layer.get_state()
        arrays.update(prefixed(f"layers/{layer.name}", layer_arrays))
    if optimizer_state:
        meta["optimizer"], opt_arrays = model.optimizer.get_state()
        arrays.update(prefixed("optimizer", opt_arrays))
    return meta, arrays


def save_model(model, path, optimizer_state=True, extra=None, extra_arrays=None):
    """Write ``model`` to ``path`` atomically; ``extra`` adds top-level manifest entries
    (checkpoints add their training position), ``extra_arrays`` arrays beside the model's
    (the AutoML model's featurizer state), under keys outside ``layers/`` and ``optimizer/``."""
    check_savable(model)
    from .. import __version__
    meta, arrays = model_state(model, optimizer_state)
    for key in extra_arrays or {}:
        if key in arrays or key.startswith(("layers/", "optimizer/")):
            raise ValueError(f"extra array key {key!r} collides with the model's own arrays")
    arrays.update(extra_arrays or {})
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "sparsebolt_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "model": model.get_config(), "state": meta, **(extra or {})}
    return write_archive(path, manifest, arrays)


def check_version(path, manifest):
    fmt, version = manifest.get("format"), manifest.get("format_version")
    if fmt != FORMAT:
        raise ModelFileError(path, "manifest.json", f"names the format {fmt!r}, not {FORMAT!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(path, None, f"has the unknown format version {version!r}; this sparsebolt reads "
                             f"versions 1 to {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        written = manifest.get("sparsebolt_version", "a newer sparsebolt")
        raise ModelFileError(path, None, f"has format version {version} (written by sparsebolt {written}); "
                             f"this sparsebolt reads versions up to {FORMAT_VERSION}: upgrade it to load this file")


def open_model_file(path):
    """An Archive whose manifest is a model manifest of a version this code reads."""
    archive = Archive(path)
    try:
        check_version(archive.path, archive.manifest)
    except BaseException:
        archive.close()
        raise
    return archive


def model_from_config(config, build=True):
    """A Model rebuilt from ``Model.get_config()`` (unbuilt, for saved state, unless ``build``)."""
    nodes = {}
    inputs = []
    for spec in config["inputs"]:
        node = InputLayer(spec["dim"], name=spec["name"]).node
        nodes[spec["name"]] = node
        inputs.append(node)
    for spec in config["layers"]:
        cls = LAYER_CLASSES.get(spec["class"])
        if cls is None:
            raise ValueError(f"unknown layer class {spec['class']!r}")
        kwargs = dict(spec["config"])
        name = kwargs.pop("name")
        nodes[name] = cls(name=name, **kwargs)(*[nodes[x] for x in spec["inputs"]])
    opt = dict(config["optimizer"])
    optimizer = OPTIMIZERS[opt.pop("name")](**opt)
    return Model(inputs, nodes[config["output"]], loss=LOSSES[config["loss"]["name"]](), optimizer=optimizer,
                 seed=config["seed"], build=build)


def apply_state(model, meta, arrays):
    """Give every layer, the optimizer (when saved) and the step and epoch counters their saved state."""
    for layer in model.layers:
        if layer.name not in meta["layers"]:
            raise ValueError(f"no saved state for layer '{layer.name}'")
        layer.set_state(meta["layers"][layer.name], unprefixed(f"layers/{layer.name}", arrays))
    if meta.get("optimizer") is not None:
        model.optimizer.set_state(meta["optimizer"], unprefixed("optimizer", arrays), model.parameters())
    # files written before the epoch counter existed lack it
    counters = {"steps": meta["steps"], "epochs": meta.get("epochs", 0)}
    for name, value in counters.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"the {name} counter must be an int >= 0, not {value!r}")
    model.steps, model.epochs = counters["steps"], counters["epochs"]


def read_state(archive, mmap=False, verify=None, optimizer_state=True):
    """(state meta, arrays) from an open model file."""
    if verify is None:
        verify = not mmap
    keys = [k for k in archive.keys() if optimizer_state or not k.startswith("optimizer/")]
    arrays = {k: archive.array(k, mmap=mmap, verify=verify) for k in keys}
    meta = archive.manifest.get("state")
    if not isinstance(meta, dict):
        raise ModelFileError(archive.path, "manifest.json", "lacks the model state")
    if not optimizer_state:
        meta = dict(meta, optimizer=None)
    return meta, arrays


def load_model(path, mmap=False, verify=None, optimizer_state=True):
    """A Model from a model file (see ``Model.load``)."""
    return load_model_file(path, mmap, verify, optimizer_state)[0]


def load_model_file(path, mmap=False, verify=None, optimizer_state=True):
    """(Model, manifest, {key: array} of the arrays outside the model's state) from a model file."""
    with open_model_file(path) as archive:
        try:
            model = model_from_config(archive.manifest["model"], build=False)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(archive.path, "manifest.json", f"has a model config that cannot be built ({e})") from None
        meta, arrays = read_state(archive, mmap, verify, optimizer_state)
        _apply(archive.path, model, meta, arrays)
        others = {k: a for k, a in arrays.items() if not k.startswith(("layers/", "optimizer/"))}
        return model, archive.manifest, others


def _apply(path, model, meta, arrays):
    try:
        apply_state(model, meta, arrays)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(path, None, f"holds a model state that does not fit its config ({e})") from None


def _layer_names(config):
    return [spec["name"] for spec in config["inputs"]] + [spec["config"]["name"] for spec in config["layers"]]


def _anonymous(config):
    """The config with every layer name replaced by its position (names auto-numbered in
    one process are not those of another)."""
    position = {name: i for i, name in enumerate(_layer_names(config))}
    out = json.loads(json.dumps(config))
    for spec in out["inputs"]:
        spec["name"] = position[spec["name"]]
    for spec in out["layers"]:
        spec["config"]["name"] = position[spec["config"]["name"]]
        spec["inputs"] = [position[x] for x in spec["inputs"]]
    out["output"] = position[out["output"]]
    return out


def restore_into(model, path, verify=True):
    """Load the state saved in ``path`` into ``model``, which must have the same graph up
    to layer names (its layers take the saved names); returns the file's manifest."""
    with open_model_file(path) as archive:
        saved, mine = archive.manifest.get("model"), model.get_config()
        try:
            same = _anonymous(saved) == _anonymous(mine)
        except (KeyError, TypeError) as e:
            raise ModelFileError(archive.path, "manifest.json", f"has a damaged model config ({e!r})") from None
        if not same:
            a, b = _anonymous(saved), _anonymous(mine)
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise ValueError(f"{archive.path} was written by a different model (its {', '.join(diff)} differ); "
                             f"build the same model to resume from it.")
        meta, arrays = read_state(archive, verify=verify)
        for layer, name in zip([node.layer for node in model.inputs] + model.layers, _layer_names(saved)):
            layer.name = name
        _apply(archive.path, model, meta, arrays)
        return archive.manifest
