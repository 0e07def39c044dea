"""The container: an uncompressed zip of ``.npy`` arrays and a JSON manifest.

Arrays are stored (never compressed) with their data 64-byte aligned in the file, so a
reader can memory-map each one by offset. The manifest, written last, names every array's
member, dtype, shape and the CRC-32 of the member's bytes (computed while writing, as the
zip itself needs it). Nothing is ever unpickled: dtypes are plain numeric ones and every
``.npy`` header is parsed by NumPy's header reader only.

Writes are atomic: the zip is written to a temporary file in the target's directory,
fsynced and renamed over the target, so a crash leaves either the old file or the new one.
"""
from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import tokenize
import zipfile
import zlib
from typing import Any

import numpy as np
import numpy.lib.format as npy

from .._files import file_mode
from .errors import ModelFileError

MANIFEST = "manifest.json"
_ALIGN = 64
_CHUNK = 16 << 20
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")   # zip local file header, 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"
_PAD_EXTRA_ID = 0x5342   # an unregistered zip extra-field id, ignored by readers: alignment padding
_ALLOWED_KINDS = "biuf"  # bool, signed and unsigned integers, floats
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _npy_header(arr):
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, npy.header_data_from_array_1_0(arr))
    return buf.getvalue()


def _padding_extra(offset, name, header_len, zip64):
    """A zip extra field that puts the array data (after the npy header) on a 64-byte
    boundary, given the local header's offset in the file."""
    fixed = offset + _LOCAL_HEADER.size + len(name.encode()) + (20 if zip64 else 0) + header_len
    pad = -(fixed + 4) % _ALIGN
    return struct.pack("<HH", _PAD_EXTRA_ID, pad) + b"\0" * pad


def _commit(tmp, path):
    """Rename the finished temporary file over ``path`` (a crash before this keeps the old file)."""
    os.replace(tmp, path)


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_prefix(path: str) -> str:
    """The name prefix of the temporary files written for ``path`` (for cleaning them up)."""
    return f".{os.path.basename(path)}."


def _remove_orphans(directory, path):
    """Delete temporary files of ``path`` left by writers that were killed: their names
    carry the writer's process id, and that process is gone."""
    prefix = temp_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
        except OSError:
            pass  # alive, owned by someone else


def write_archive(path: str | os.PathLike, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Write ``arrays`` ({key: ndarray}) and ``manifest`` (a JSON-able dict, given an
    ``arrays`` entry here) to ``path`` atomically. Returns the manifest as written."""
    path = os.fspath(path)
    # each checked first: else the error would name the temporary file, written in vain
    if not path:
        raise ValueError("Cannot save '': expected a file name.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save {path!r}: expected a file name, not a directory.")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save {path!r}: no directory {directory!r}.")
    _remove_orphans(directory, path)
    # mkstemp makes the file 0600; the result should read like any file written here
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{temp_prefix(path)}{os.getpid()}.", suffix=".tmp")
    entries = {}
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for i, (key, arr) in enumerate(arrays.items()):
                    entries[key] = _write_array(zf, f, f"arrays/{i:05d}.npy", key, arr)
                manifest = dict(manifest, arrays=entries)
                info = zipfile.ZipInfo(MANIFEST, _FIXED_TIME)
                zf.writestr(info, json.dumps(manifest, indent=1, allow_nan=False).encode())
            f.flush()
            os.chmod(tmp, mode)
            os.fsync(f.fileno())
        _commit(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    return manifest


def _write_array(zf, f, member, key, arr):
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in _ALLOWED_KINDS or arr.dtype.hasobject:
        got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"Cannot save array {key!r}: only numeric arrays are stored. Got {got}.")
    arr = np.ascontiguousarray(arr)
    header = _npy_header(arr)
    info = zipfile.ZipInfo(member, _FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(header) + arr.nbytes
    zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT
    info.extra = _padding_extra(f.tell(), member, len(header), zip64)
    with zf.open(info, "w") as out:
        out.write(header)
        flat = memoryview(arr.reshape(-1)).cast("B") if arr.size else memoryview(b"")
        for lo in range(0, len(flat), _CHUNK):
            out.write(flat[lo:lo + _CHUNK])
    return {"member": member, "dtype": arr.dtype.str, "shape": list(arr.shape),
            "crc32": zf.getinfo(member).CRC}


class Archive:
    """A model file opened for reading: the manifest is parsed and checked on open, arrays
    are read (or memory-mapped) on request. Use as a context manager (``with
    sb.io.open_model_file(path) as archive: ...``), which closes it.

    Parameters
    ----------
    path : str or path-like
        The file.

    Attributes
    ----------
    manifest : dict
        The parsed manifest.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ModelFileError
        When it is not a zip with a readable manifest.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"No model file at {self.path!r}.")
        self.size = os.path.getsize(self.path)
        self._f = open(self.path, "rb")
        try:
            try:
                self._zip = zipfile.ZipFile(self._f)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
                raise ModelFileError(self.path, None, "is not a complete sparsebolt model file: its zip directory "
                                     f"is missing or damaged (truncated, or not a model file) ({e})") from None
            self.manifest = self._read_manifest()
        except BaseException:
            self._f.close()
            raise

    def close(self) -> None:
        """Close the file (arrays mapped from it stay valid)."""
        self._zip.close()
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_manifest(self):
        try:
            info = self._zip.getinfo(MANIFEST)
        except KeyError:
            raise ModelFileError(self.path, None, f"has no {MANIFEST}: it is a zip file but not a sparsebolt "
                                 "model file") from None
        # stored, as every member: a compressed one could inflate to any size (a 3 MB file
        # holding a 300 MB manifest)
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(self.path, MANIFEST, "is compressed; a model file stores its members uncompressed")
        try:
            raw = self._zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as e:
            raise ModelFileError(self.path, MANIFEST, f"is corrupted ({e})") from None
        try:
            manifest = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFileError(self.path, MANIFEST, f"is not valid JSON ({e})") from None
        except RecursionError:
            raise ModelFileError(self.path, MANIFEST, "is nested too deeply to be a model manifest") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("arrays"), dict):
            raise ModelFileError(self.path, MANIFEST, "lacks the 'arrays' table of a sparsebolt model file")
        return manifest

    def keys(self) -> list[str]:
        """The keys of the stored arrays, as the manifest lists them.

        Returns
        -------
        list of str
        """
        return list(self.manifest["arrays"])

    def _entry(self, key):
        try:
            entry = self.manifest["arrays"][key]
            member, dtype = entry["member"], np.dtype(entry["dtype"])
            shape, crc = tuple(int(n) for n in entry["shape"]), int(entry["crc32"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(self.path, MANIFEST, f"has a bad entry for array {key!r} ({e!r})") from None
        if dtype.kind not in _ALLOWED_KINDS or dtype.hasobject or any(n < 0 for n in shape):
            raise ModelFileError(self.path, MANIFEST, f"gives array {key!r} the dtype {dtype} and shape {shape}; "
                                 "only numeric arrays are allowed")
        return member, dtype, shape, crc

    def _locate(self, key):
        """(member, dtype, shape, crc, header bytes, file offset of the array data)."""
        member, dtype, shape, crc = self._entry(key)
        try:
            info = self._zip.getinfo(member)
        except KeyError:
            raise ModelFileError(self.path, member, f"(array {key!r}) is missing from the zip") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(self.path, member, "is compressed; model files store arrays uncompressed")
        self._f.seek(info.header_offset)
        local = self._f.read(_LOCAL_HEADER.size)
        if len(local) != _LOCAL_HEADER.size or local[:4] != _LOCAL_MAGIC:
            raise ModelFileError(self.path, member, f"(array {key!r}) has a damaged zip header")
        fields = _LOCAL_HEADER.unpack(local)
        start = info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
        if start + info.file_size > self.size:
            raise ModelFileError(self.path, member, f"(array {key!r}) runs past the end of the file (truncated)")
        self._f.seek(start)
        try:
            version = npy.read_magic(self._f)
            if version != (1, 0):
                raise ValueError(f"npy format version {version}")
            h_shape, fortran, h_dtype = npy.read_array_header_1_0(self._f)
        # NumPy parses the header as a Python literal: a damaged brace fails in its tokenizer
        except (ValueError, SyntaxError, tokenize.TokenError) as e:
            raise ModelFileError(self.path, member, f"(array {key!r}) has a damaged .npy header ({e})") from None
        if tuple(h_shape) != shape or h_dtype != dtype or fortran:
            raise ModelFileError(self.path, member, f"(array {key!r}) holds {h_dtype}{list(h_shape)} but the "
                                 f"manifest says {dtype}{list(shape)}")
        data_start = self._f.tell()
        header_len = data_start - start
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if header_len + nbytes != info.file_size:
            raise ModelFileError(self.path, member, f"(array {key!r}) is {info.file_size} bytes, not the "
                                 f"{header_len + nbytes} its header implies")
        self._f.seek(start)
        header = self._f.read(header_len)
        return member, dtype, shape, crc, header, data_start

    def array(self, key: str, mmap: bool = False, verify: bool = True) -> np.ndarray:
        """The array stored under ``key``.

        Parameters
        ----------
        key : str
            One of ``keys()``.
        mmap : bool, default=False
            Map the array copy-on-write (writes stay in this process) instead of reading it.
        verify : bool, default=True
            Check its CRC-32 (reading all of it).

        Returns
        -------
        ndarray

        Raises
        ------
        ModelFileError
            For a bad manifest entry, a damaged or truncated member, or a CRC-32 mismatch.
        """
        member, dtype, shape, crc, header, data_start = self._locate(key)
        if mmap and int(np.prod(shape)) > 0:
            arr = np.asarray(np.memmap(self.path, dtype=dtype, mode="c", offset=data_start, shape=shape))
        else:
            arr = np.empty(shape, dtype=dtype)
            flat = memoryview(arr.reshape(-1)).cast("B") if arr.size else memoryview(bytearray())
            self._f.seek(data_start)
            for lo in range(0, len(flat), _CHUNK):
                got = self._f.readinto(flat[lo:lo + _CHUNK])
                if got != len(flat[lo:lo + _CHUNK]):
                    raise ModelFileError(self.path, member, f"(array {key!r}) ends early (truncated)")
        if verify:
            self._check_crc(key, member, crc, header, arr)
        return arr

    def _check_crc(self, key, member, crc, header, arr):
        value = zlib.crc32(header)
        flat = memoryview(arr.reshape(-1)).cast("B") if arr.size else memoryview(b"")
        for lo in range(0, len(flat), _CHUNK):
            value = zlib.crc32(flat[lo:lo + _CHUNK], value)
        if value != crc:
            raise ModelFileError(self.path, member, f"(array {key!r}) is corrupted: its CRC-32 is {value:#010x}, "
                                 f"the manifest says {crc:#010x}")

    def verify(self) -> None:
        """Check every array's CRC-32 (reads the whole file).

        Raises
        ------
        ModelFileError
            Naming the first array that is damaged.
        """
        for key in self.keys():
            member, dtype, shape, crc, header, data_start = self._locate(key)
            arr = np.asarray(np.memmap(self.path, dtype=dtype, mode="r", offset=data_start, shape=shape)) \
                if int(np.prod(shape)) > 0 else np.empty(shape, dtype=dtype)
            self._check_crc(key, member, crc, header, arr)
