"""Errors about model and checkpoint files."""
from __future__ import annotations

import os


class ModelFileError(ValueError):
    """A model file that cannot be read: truncated, corrupted, of an unknown format version
    or not a model file at all. Its message names the file and, where one is at fault, the
    zip member.

    Parameters
    ----------
    path : str or path-like
        The file.
    member : str or None
        The zip member at fault, or None for the file as a whole.
    message : str
        What is wrong, as a sentence's predicate ("is corrupted ...").
    """

    def __init__(self, path: str | os.PathLike, member: str | None, message: str) -> None:
        self.path, self.member, self.reason = str(path), member, message
        where = f"{self.path}: member {member!r}" if member else self.path
        super().__init__(f"{where} {message}.")

    def __reduce__(self):
        # pickled by its arguments (a Ray worker's error had come back as UnserializableException)
        return type(self), (self.path, self.member, self.reason), self.__dict__
