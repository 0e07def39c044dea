"""What writing a file over another keeps of it."""
import os
import stat


def file_mode(path):
    """The mode a new file gets (0o666 less the umask), or that of the file it replaces:
    a temporary file renamed over ``path`` is made 0o600."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
