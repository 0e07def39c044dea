"""Model files and checkpoints: a zip of ``.npy`` arrays with a JSON manifest (format in
docs/file-format.md), written atomically and checked by CRC-32 on load; never pickled."""
from ._archive import Archive
from ._model import FORMAT_VERSION, load_model, open_model_file, restore_into, save_model
from .errors import ModelFileError


def verify(path):
    """Check that ``path`` is a model file this sparsebolt reads and that every array's
    CRC-32 matches (reads the whole file); raises ModelFileError naming what is wrong."""
    with open_model_file(path) as archive:
        archive.verify()


__all__ = ["Archive", "FORMAT_VERSION", "ModelFileError", "load_model", "open_model_file", "restore_into",
           "save_model", "verify"]
