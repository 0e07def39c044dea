"""Models and file surgery shared by the io tests."""
import json
import zipfile

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.io import Archive

from ..synthetic import clustered, small_model

W = "layers/out/W"   # the output layer's weights in the file of trained()


def trained(epochs=2, **model_kw):
    """A small sparse model trained past the epoch where its tables freeze and take labels,
    and its data set (whose shuffling state is where training left it)."""
    data = clustered(n=800)
    model = small_model(name="out", **model_kw)
    model.train(data, epochs=epochs, learning_rate=1e-2, verbose=False)
    return model, data


def _table_model(trained_rows):
    """A model whose 20,000-row embedding table trained only the rows ``trained_rows`` (one a
    sample), the rest as drawn."""
    inp = sb.Input(dim=20_000)
    out = sb.FullyConnected(4, activation="softmax", name="out")(sb.Embedding(64, name="emb")(inp))
    model = sb.Model(inp, out, seed=0)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    n = trained_rows.shape[0]
    x = scipy_sparse.csr_matrix((np.ones(n, np.float32), trained_rows, np.arange(n + 1)), shape=(n, 20_000))
    model.train(x, y=np.arange(n) % 4, epochs=1, batch_size=64, verbose=False)
    return model


def same_weights(a, b):
    return all(np.array_equal(p.value, q.value) for p, q in zip(a.parameters(), b.parameters()))


def data_offset(path, key):
    """Where the data of array ``key`` starts in the file."""
    with Archive(path) as archive:
        return archive._locate(key)[-1]


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x40]))


def rewrite(src, dst, manifest_fn=None, array_fn=None):
    """Copy a model file, changing its manifest and/or one array's bytes; the zip's own
    CRCs are recomputed, so only the manifest's checksums can notice."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        manifest = json.loads(zin.read("manifest.json"))
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "manifest.json":
                data = json.dumps(manifest_fn(manifest) if manifest_fn else manifest).encode()
            elif array_fn is not None:
                data = array_fn(info.filename, data, manifest)
            zout.writestr(info.filename, data)


def load_crafted_udt(udt, tmp_path, key, change):
    """Save ``udt``, put its array ``key`` through ``change`` (``crafted``) and load the
    result: a damaged UniversalDeepTransformer file, for the error its load gives."""
    good, bad = tmp_path / "good.sbm", tmp_path / "bad.sbm"
    udt.save(good)
    crafted(good, bad, key, change)
    return sb.UniversalDeepTransformer.load(bad)


def crafted(src, dst, key, change):
    """A well-formed copy of a model file (checksums recomputed) whose array ``key`` went
    through ``change``: what a malicious or buggy writer could produce."""
    from sparsebolt.io._archive import write_archive
    with Archive(src) as archive:
        arrays = {k: archive.array(k) for k in archive.keys()}
        manifest = {k: v for k, v in archive.manifest.items() if k != "arrays"}
    arrays[key] = change(arrays[key].copy())
    write_archive(dst, manifest, arrays)
