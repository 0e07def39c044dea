"""Model files: a zip of ``.npy`` arrays with a JSON manifest (format in
docs/file-format.md), written atomically and checked by CRC-32 on load; never pickled.
A codec of plain dicts and arrays that imports nothing else of sparsebolt: ``sb.Model.save``
and ``sb.Model.load`` turn a model into these and back."""
from __future__ import annotations

import os

from ._archive import Archive
from ._model import (FORMAT_VERSION, open_model_file, read_state, restore_model_file, save_model_file, set_model_state,
                     split_arrays, write_model_file)
from .errors import ModelFileError


def verify(path: str | os.PathLike) -> None:
    """Check that ``path`` is a model file this sparsebolt reads and that every array's
    CRC-32 matches (reads the whole file).

    Parameters
    ----------
    path : str or path-like
        The model file.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ModelFileError
        Naming what is wrong.
    """
    with open_model_file(path) as archive:
        archive.verify()


__all__ = ["Archive", "FORMAT_VERSION", "ModelFileError", "open_model_file", "read_state", "restore_model_file",
           "save_model_file", "set_model_state", "split_arrays", "verify", "write_model_file"]
