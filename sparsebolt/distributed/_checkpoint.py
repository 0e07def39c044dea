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
    return {"batches": index.batches, "rebuilds": index.rebuilds, "frozen": index.frozen,
            "label_augmentation": index.label_augmentation, "labels_inserted": index.labels_inserted,
            "rebuild_every": index.rebuild_every, "rehash_every": index.rehash_every,
            "hash_seed": None if index.hash_fn is None else index.hash_fn.seed}


def model_state(model, extra=None):
    """{name: array} of the replica's state; ``extra`` (JSON-able) rides in the manifest."""
    opt = model.optimizer
    arrays = {}
    for p in model.parameters():
        arrays[f"param/{p.name}"] = p.value
        for i, a in enumerate(opt.state.get(p.name, ())):
            arrays[f"opt{i}/{p.name}"] = a
    indexes = {}
    for layer in model.sparse_layers():
        idx = layer.index
        indexes[layer.name] = _index_meta(idx)
        t = idx.tables
        arrays[f"index/{layer.name}/buckets"] = t.buckets
        arrays[f"index/{layer.name}/counts"] = t.counts
        arrays[f"index/{layer.name}/pinned"] = t.pinned
    manifest = {"format": FORMAT, "steps": model.steps, "optimizer": opt.get_config(),
                "optimizer_steps": opt.step_count, "optimizer_params": sorted(opt.state),
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
    params = {p.name: p for p in model.parameters()}
    missing = [n for n in params if f"param/{n}" not in state]
    if missing:
        raise ValueError(f"The checkpoint does not fit the model: no values for {missing}.")
    for name, p in params.items():
        src = state[f"param/{name}"]
        if src.shape != p.value.shape:
            raise ValueError(f"The checkpoint's {name} has shape {src.shape}; the model's is {p.value.shape}.")
        p.value[...] = src
        p.pending = None
        if p.touched is not None:
            p.touched[:] = 0
    opt.state = {}
    for name in meta["optimizer_params"]:
        parts = []
        i = 0
        while f"opt{i}/{name}" in state:
            parts.append(np.array(state[f"opt{i}/{name}"]))
            i += 1
        opt.state[name] = tuple(parts)
    opt.step_count = meta["optimizer_steps"]
    model.steps = meta["steps"]
    for layer in model.sparse_layers():
        info = meta["indexes"].get(layer.name)
        if info is None:
            raise ValueError(f"The checkpoint has no hash tables for layer {layer.name!r}.")
        idx = layer.index
        for key in ("batches", "rebuilds", "frozen", "label_augmentation", "labels_inserted",
                    "rebuild_every", "rehash_every"):
            setattr(idx, key, info[key])
        if idx.hash_fn is not None and info["hash_seed"] is not None and idx.hash_fn.seed != info["hash_seed"]:
            idx.hash_fn.regenerate(info["hash_seed"])
        t = idx.tables
        for key in ("buckets", "counts", "pinned"):
            src = state[f"index/{layer.name}/{key}"]
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
