"""Errors about input files."""


class DataFormatError(ValueError):
    """A data file that cannot be read as its format; names the file and line."""

    def __init__(self, path, line, message):
        self.path, self.line = str(path), line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
