"""Errors about model and checkpoint files."""


class ModelFileError(ValueError):
    """A model file that cannot be read: truncated, corrupted, of an unknown format version
    or not a model file at all. Names the file and, where one is at fault, the zip member."""

    def __init__(self, path, member, message):
        self.path, self.member = str(path), member
        where = f"{self.path}: member {member!r}" if member else self.path
        super().__init__(f"{where} {message}.")
