"""What writing a file over another keeps of it."""
import contextlib
import os
import stat
import tempfile


def file_mode(path):
    """The mode a new file gets (0o666 less the umask), or that of the file it replaces:
    a temporary file renamed over ``path`` is made 0o600."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def written_beside(path, prefix):
    """The name of a new file beside ``path`` (``path`` a real path: a link's target) to
    write in the block, with the mode ``file_mode`` gives; renamed over ``path`` when the
    block ends, removed if it raises, so a failure part-way leaves the file there before
    as it was. (Model files add fsyncs and orphan clean-up: ``io._archive.write_archive``.)"""
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=prefix, suffix=".tmp")
    try:
        try:
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
