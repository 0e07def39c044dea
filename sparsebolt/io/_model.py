"""The model file: a manifest holding the graph config, the model's state meta and a
format version, and the state's arrays, in the container of ``_archive``. A codec of plain
dicts and arrays: it reads a model through its ``get_config``, ``get_state`` and
``set_state`` and never imports ``sparsebolt.nn``; building a Model from a file is
``sb.Model.load``'s."""
import datetime
import json

from .._version import __version__
from ._archive import Archive, write_archive
from .errors import ModelFileError

FORMAT = "sparsebolt-model"
FORMAT_VERSION = 1


def write_model_file(path, config, meta, arrays, extra=None, extra_arrays=None):
    """Write a model's ``config`` (``Model.get_config``) and state (``meta``, ``arrays``
    from ``Model.get_state``) to ``path`` atomically; ``extra`` adds top-level manifest
    entries (a checkpoint's training position, the AutoML model's config), ``extra_arrays``
    arrays beside the model's under keys outside ``layers/`` and ``optimizer/``."""
    arrays = dict(arrays)
    for key in extra_arrays or {}:
        if key in arrays or key.startswith(("layers/", "optimizer/")):
            raise ValueError(f"extra array key {key!r} collides with the model's own arrays")
    arrays.update(extra_arrays or {})
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "sparsebolt_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "model": config, "state": meta, **(extra or {})}
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


def split_arrays(arrays):
    """(the model's state arrays, the others) of a file's arrays."""
    own = {k: a for k, a in arrays.items() if k.startswith(("layers/", "optimizer/"))}
    return own, {k: a for k, a in arrays.items() if k not in own}


def save_model_file(model, path, optimizer_state=True, extra=None, extra_arrays=None):
    """Write a model (anything with ``check_savable``, ``get_config`` and ``get_state``,
    as ``sb.Model``) with ``write_model_file``."""
    model.check_savable()
    meta, arrays = model.get_state(optimizer_state)
    return write_model_file(path, model.get_config(), meta, arrays, extra=extra, extra_arrays=extra_arrays)


def set_model_state(path, model, meta, arrays):
    """``model.set_state(meta, arrays)``, a misfit reported as the file's error."""
    try:
        model.set_state(meta, arrays)
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


def restore_model_file(model, path, verify=True):
    """Load the state saved in ``path`` into ``model`` (a built ``sb.Model``), which must
    have the same graph up to layer names (its layers take the saved names); returns the
    file's manifest. Checkpoints resume through this."""
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
        model.rename_layers(_layer_names(saved))
        set_model_state(archive.path, model, meta, arrays)
        return archive.manifest
