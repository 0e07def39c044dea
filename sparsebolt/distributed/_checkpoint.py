"""A replica's full training state as named arrays, and its checkpoint file.

The state is everything a replica needs to go on training bit for bit as if it had never
stopped: parameter values, optimizer state and step counts, and each sparse layer's index
(hash seed, tables with pinned labels, schedule counters). The file is an ``np.savez`` of
those arrays plus a JSON manifest (no pickle), written to a temporary file and moved into
place with ``os.replace``, so a crash never leaves a half-written checkpoint.

This stands in until ``Model.save`` / ``sb.Model.load`` exist; ``save_state`` and
``load_state`` are the only functions the distributed trainer calls for files.
"""
import json
import os
import tempfile

import numpy as np

FORMAT = "sparsebolt-distributed-checkpoint/1"


def _index_meta(index):
    return {"seed": index.seed, "batches": index.batches, "rebuilds": index.rebuilds, "frozen": index.frozen,
            "label_augmentation": index.label_augmentation, "labels_inserted": index.labels_inserted,
            "rebuild_every": index.rebuild_every, "rehash_every": index.rehash_every,
            "hash_seed": None if index.hash_fn is None else index.hash_fn.seed}


def model_state(model, extra=None):
    """{name: array} of the replica's state; ``extra`` (JSON-able) rides in the manifest.
    Parameters and layers are keyed by position (``model.parameters()``, sparse layers in
    graph order), not by name, since auto-generated layer names differ between processes."""
    opt = model.optimizer
    arrays = {}
    params = model.parameters()
    for i, p in enumerate(params):
        arrays[f"param/{i}"] = p.value
        for j, a in enumerate(opt.state.get(p.name, ())):
            arrays[f"opt{j}/{i}"] = a
    indexes = []
    for k, layer in enumerate(model.sparse_layers()):
        idx = layer.index
        indexes.append(_index_meta(idx))
        t = idx.tables
        arrays[f"index/{k}/buckets"] = t.buckets
        arrays[f"index/{k}/counts"] = t.counts
        arrays[f"index/{k}/pinned"] = t.pinned
        arrays[f"index/{k}/perm"] = idx.perm
    manifest = {"format": FORMAT, "steps": model.steps, "optimizer": opt.get_config(),
                "optimizer_steps": opt.step_count, "parameters": [p.name for p in params],
                "optimizer_params": [i for i, p in enumerate(params) if p.name in opt.state],
                "sparse_layers": [layer.name for layer in model.sparse_layers()],
                "indexes": indexes, "extra": extra}
    arrays["manifest"] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    return arrays


def manifest_of(state):
    return json.loads(bytes(np.asarray(state["manifest"], dtype=np.uint8)).decode())


def load_model_state(model, state):
    """Put a ``model_state`` into ``model`` (built the same way); returns the manifest's extra."""
    meta = manifest_of(state)
    if meta.get("format") != FORMAT:
        raise ValueError(f"Not a sparsebolt distributed checkpoint (format {meta.get('format')!r}).")
    opt = model.optimizer
    if meta["optimizer"]["name"] != opt.name:
        raise ValueError(f"The checkpoint was trained with optimizer {meta['optimizer']['name']!r}; "
                         f"the model uses {opt.name!r}.")
    params = model.parameters()
    sparse = model.sparse_layers()
    if len(meta["parameters"]) != len(params) or len(meta["sparse_layers"]) != len(sparse):
        raise ValueError(f"The checkpoint does not fit the model: it holds {len(meta['parameters'])} parameters "
                         f"and {len(meta['sparse_layers'])} sparse layers, the model has {len(params)} and "
                         f"{len(sparse)}.")
    for i, p in enumerate(params):
        src = state[f"param/{i}"]
        if src.shape != p.value.shape:
            raise ValueError(f"The checkpoint's {meta['parameters'][i]} has shape {src.shape}; the model's "
                             f"{p.name} is {p.value.shape}.")
    for i, p in enumerate(params):
        p.value[...] = state[f"param/{i}"]
        p.pending = None
        if p.touched is not None:
            p.touched[:] = 0
    opt.state = {}
    for i in meta["optimizer_params"]:
        parts = []
        j = 0
        while f"opt{j}/{i}" in state:
            parts.append(np.array(state[f"opt{j}/{i}"]))
            j += 1
        opt.state[params[i].name] = tuple(parts)
    opt.step_count = meta["optimizer_steps"]
    model.steps = meta["steps"]
    for k, (layer, info) in enumerate(zip(sparse, meta["indexes"])):
        idx = layer.index
        layer._index_seed = idx.seed = info["seed"]
        idx.perm[...] = state[f"index/{k}/perm"]
        for key in ("batches", "rebuilds", "frozen", "label_augmentation", "labels_inserted",
                    "rebuild_every", "rehash_every"):
            setattr(idx, key, info[key])
        if idx.hash_fn is not None and info["hash_seed"] is not None and idx.hash_fn.seed != info["hash_seed"]:
            idx.hash_fn.regenerate(info["hash_seed"])
        t = idx.tables
        for key in ("buckets", "counts", "pinned"):
            src = state[f"index/{k}/{key}"]
            if src.shape != getattr(t, key).shape:
                raise ValueError(f"The checkpoint's tables of {layer.name!r} have shape {src.shape}; "
                                 f"the model's have {getattr(t, key).shape} (different sparsity or LSH settings).")
            getattr(t, key)[...] = src
    return meta.get("extra")


def save_state(model, path, extra=None):
    """Write the replica's state to ``path`` atomically."""
    write_state(model_state(model, extra), path)


def write_state(state, path):
    """Write a ``model_state`` dict to ``path`` (temporary file, then ``os.replace``)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **state)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_state(path):
    """The state dict stored at ``path`` (arrays in memory)."""
    with np.load(os.fspath(path), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_state(model, path):
    """Restore ``model`` from the checkpoint at ``path``; returns the manifest's extra."""
    return load_model_state(model, read_state(path))
