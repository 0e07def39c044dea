"""The model file: a manifest holding the graph config, the model's state meta and a
format version, and the state's arrays, in the container of ``_archive``. A codec of plain
dicts and arrays: it reads a model through its ``get_config``, ``get_state`` and
``set_state`` and never imports ``sparsebolt.nn``; building a Model from a file is
``sb.Model.load``'s."""
from __future__ import annotations

import datetime
import json
import os
from typing import Any

import numpy as np

from .._state import json_misfit
from .._validation import check_flag
from .._version import __version__
from ._archive import Archive, write_archive
from .errors import ModelFileError

FORMAT = "sparsebolt-model"
# 2: a UDT's featurizer may reserve input ids for its numbers' places, which a version-1 reader
# would ignore and hash anew (wrong features, silently); version-1 files read as they were.
# 3: Adam's moments may be saved as their moved rows (optimizer/rows/<parameter>), whose
# compact arrays an older reader would refuse with a misleading shape error
# 4: an input table may be saved as its trained rows (layers/<name>/rows/E) and the generator
# state that draws the others again
FORMAT_VERSION = 4


def write_model_file(path: str | os.PathLike, config: dict[str, Any], meta: dict[str, Any],
                     arrays: dict[str, np.ndarray], extra: dict[str, Any] | None = None,
                     extra_arrays: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Write a model's config and state to a model file, atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced whole, or left as it was on failure).
    config : dict
        ``Model.get_config()``.
    meta : dict
        The JSON-able half of ``Model.get_state()``.
    arrays : dict of str to ndarray
        Its arrays.
    extra : dict or None, default=None
        Top-level manifest entries (a checkpoint's training position, the AutoML model's
        config).
    extra_arrays : dict of str to ndarray or None, default=None
        Arrays beside the model's, under keys outside ``layers/`` and ``optimizer/``.

    Returns
    -------
    dict
        The manifest as written.

    Raises
    ------
    ValueError
        When a key of ``extra_arrays`` collides with the model's arrays.
    """
    arrays = dict(arrays)
    for key in extra_arrays or {}:
        if key in arrays or key.startswith(("layers/", "optimizer/")):
            raise ValueError(f"extra array key {key!r} collides with the model's own arrays")
    arrays.update(extra_arrays or {})
    # the oldest version that reads the file: a version-2 reader reads one without compact arrays
    if any(isinstance(m, dict) and "crc32" in (m.get("init") or {}) for m in meta.get("layers", {}).values()):
        version = 4
    elif any(k.startswith("optimizer/rows/") for k in arrays):
        version = 3
    else:
        version = 2
    manifest = {"format": FORMAT, "format_version": version, "sparsebolt_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "model": config, "state": meta, **(extra or {})}
    return write_archive(path, manifest, arrays)


def check_version(path: str, manifest: dict[str, Any]) -> None:
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


def open_model_file(path: str | os.PathLike) -> Archive:
    """Open a model file for reading, its format and version checked.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    Archive
        Open; use it as a context manager.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ModelFileError
        When it is not a model file, or of a format version this sparsebolt does not read.
    """
    archive = Archive(path)
    try:
        check_version(archive.path, archive.manifest)
    except BaseException:
        archive.close()
        raise
    return archive


def read_state(archive: Archive, mmap: bool = False, verify: bool | None = None,
               optimizer_state: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The saved state of an open model file, and all its arrays.

    Parameters
    ----------
    archive : Archive
        From ``open_model_file``.
    mmap : bool, default=False
        Map the arrays copy-on-write instead of reading them.
    verify : bool or None, default=None
        Check every array's CRC-32; None: when not ``mmap``.
    optimizer_state : bool, default=True
        Also read the optimizer's arrays (else the meta's optimizer entry is None).

    Returns
    -------
    meta : dict
        The model's state meta.
    arrays : dict of str to ndarray
        The arrays (``split_arrays`` separates the model's from the others).

    Raises
    ------
    ModelFileError
        When the manifest lacks the state, or an array is damaged.
    """
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


def split_arrays(arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split a file's arrays into the model's state and the others.

    Parameters
    ----------
    arrays : dict of str to ndarray
        As ``read_state`` returns them.

    Returns
    -------
    own : dict of str to ndarray
        Those under ``layers/`` and ``optimizer/``.
    others : dict of str to ndarray
        The rest (``extra_arrays`` of ``write_model_file``).
    """
    own = {k: a for k, a in arrays.items() if k.startswith(("layers/", "optimizer/"))}
    return own, {k: a for k, a in arrays.items() if k not in own}


def save_model_file(model: Any, path: str | os.PathLike, optimizer_state: bool = True,
                    extra: dict[str, Any] | None = None,
                    extra_arrays: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Write a model with ``write_model_file``.

    Parameters
    ----------
    model : Model
        Anything with ``check_savable``, ``get_config`` and ``get_state``, as ``sb.Model``.
    path : str or path-like
        The file to write.
    optimizer_state : bool, default=True
        Include the optimizer's state.
    extra, extra_arrays : dict or None, default=None
        As for ``write_model_file``.

    Returns
    -------
    dict
        The manifest as written.

    Raises
    ------
    TypeError
        When the model has a layer, loss or optimizer class a file cannot rebuild.
    """
    check_flag("save", "optimizer_state", optimizer_state)
    model.check_savable()
    meta, arrays = model.get_state(optimizer_state)
    return write_model_file(path, model.get_config(), meta, arrays, extra=extra, extra_arrays=extra_arrays)


def set_model_state(path: str, model: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """``model.set_state(meta, arrays)``, a misfit reported as the file's error.

    Parameters
    ----------
    path : str
        The file the state came from, for the error.
    model : Model
        Takes the state.
    meta, arrays
        As ``read_state`` returned them (the model's own arrays).

    Raises
    ------
    ModelFileError
        When the state does not fit the model.
    """
    try:
        model.set_state(meta, arrays)
    # AttributeError: a list or number where the file should hold a table ({...})
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        if isinstance(e, AttributeError) and not json_misfit(e):
            raise
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


def restore_model_file(model: Any, path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """Load the state saved in a model file into a built model. Checkpoints resume
    through this.

    Parameters
    ----------
    model : Model
        Must have the same graph as the saved one up to layer names (its layers take the
        saved names).
    path : str or path-like
        The model file.
    verify : bool, default=True
        Check every array's CRC-32.

    Returns
    -------
    dict
        The file's manifest.

    Raises
    ------
    ValueError
        When the file was written by a different model.
    ModelFileError
        When the file is damaged or its state does not fit; the model is then left as it
        was (its state is copied first, for as long as this runs).
    """
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
        # a state can fail half-way in (a layer's index after the weights were set), and a
        # resume then skips the file: the model must be as it was, not half the file's
        names, (old_meta, old_arrays) = model.layer_names(), model.get_state()
        old_arrays = {key: np.array(value, copy=True) for key, value in old_arrays.items()}
        model.rename_layers(_layer_names(saved))
        try:
            set_model_state(archive.path, model, meta, arrays)
        except ModelFileError:
            model.rename_layers(names)
            model.set_state(old_meta, old_arrays)
            raise
        return archive.manifest
