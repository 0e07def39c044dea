"""Errors about input files."""
from __future__ import annotations

import os


class DataFormatError(ValueError):
    """A data file that cannot be read as its format; its message names the file and line.

    Parameters
    ----------
    path : str or path-like
        The file.
    line : int or None
        The 1-based line at fault, or None for the file as a whole.
    message : str
        What is wrong (kept as ``reason``, without the file and line).
    """

    def __init__(self, path: str | os.PathLike, line: int | None, message: str) -> None:
        self.path, self.line, self.reason = str(path), line, message
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # pickled by its arguments, not BaseException's one message (a Ray worker's or a
        # joblib process's error had come back as UnserializableException)
        return type(self), (self.path, self.line, self.reason), self.__dict__
