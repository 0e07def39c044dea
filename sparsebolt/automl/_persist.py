"""The featurizer state that is not JSON config, as arrays for a model file: interaction
histories, the graph node index and the target means of exact values. Strings are stored as
UTF-8 bytes laid end to end with offsets (``uint8[n_bytes]``, ``int64[N + 1]``), never as
pickled objects."""
import numpy as np

from .._state import meta_int, take

_OWNER = "the UniversalDeepTransformer"


def pack_strings(strings):
    """(uint8[n_bytes], int64[N + 1]) of a list of str."""
    # a lone surrogate (JSON's "\ud800") trains, hashed as a code point: kept as its bytes
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _offsets(arrays, key, n, length):
    """int64[n + 1] row boundaries running from 0 to ``length``, never decreasing."""
    off = take(_OWNER, arrays, key, (n + 1,), np.int64)
    if off[0] != 0 or off[-1] != length or (np.diff(off) < 0).any():
        raise ValueError(f"The array {key!r} of {_OWNER} must run from 0 to {length} without decreasing.")
    return off


def unpack_strings(arrays, key, n):
    """The ``n`` strings stored under ``key``/bytes and ``key``/offsets."""
    data = arrays.get(f"{key}/bytes")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"The array '{key}/bytes' of {_OWNER} must be uint8[n]. Got {data!r:.60} instead.")
    off = _offsets(arrays, f"{key}/offsets", n, data.shape[0])
    raw = data.tobytes()
    try:
        return [raw[off[i]:off[i + 1]].decode("utf-8", "surrogatepass") for i in range(n)]
    except UnicodeDecodeError as e:
        raise ValueError(f"The array '{key}/bytes' of {_OWNER} is not UTF-8 text ({e}).") from None


def _put_strings(arrays, key, strings):
    arrays[f"{key}/bytes"], arrays[f"{key}/offsets"] = pack_strings(strings)


def featurizer_state(featurizer):
    """(meta, {key: array}) of the histories, the node index and the target means."""
    meta, arrays = {"histories": [], "nodes": None, "exact_stats": []}, {}
    for j, c in enumerate(featurizer.stat_columns()):
        values, sums, counts = featurizer.exact_stats[c]
        meta["exact_stats"].append({"column": c, "values": int(values.shape[0])})
        arrays[f"exact_stats/{j}/values"], arrays[f"exact_stats/{j}/sums"] = values, sums
        arrays[f"exact_stats/{j}/counts"] = counts.astype(np.int64)
    for j, ((user_col, item_col), history) in enumerate(featurizer.histories.items()):
        users, lengths, times, items = history.as_lists()
        meta["histories"].append({"user": user_col, "item": item_col, "users": len(users), "items": len(items)})
        _put_strings(arrays, f"histories/{j}/users", users)
        arrays[f"histories/{j}/lengths"] = np.asarray(lengths, dtype=np.int64)
        arrays[f"histories/{j}/times"] = np.asarray(times, dtype=np.int64)
        _put_strings(arrays, f"histories/{j}/items", items)
    nodes = featurizer.nodes
    if nodes.features or nodes.neighbors:
        names = list(nodes.features)
        feats = [nodes.features[n] for n in names]
        meta["nodes"] = {"with_features": len(names), "with_neighbors": len(nodes.neighbors)}
        _put_strings(arrays, "nodes/names", names)
        counts = np.asarray([h.shape[0] for h, _ in feats], dtype=np.int64)
        arrays["nodes/feature_offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        arrays["nodes/hashes"] = np.concatenate([h for h, _ in feats] or [np.zeros(0)]).astype(np.int64)
        arrays["nodes/values"] = np.concatenate([v for _, v in feats] or [np.zeros(0)]).astype(np.float32)
        linked = list(nodes.neighbors)
        _put_strings(arrays, "nodes/linked", linked)
        lengths = np.asarray([len(nodes.neighbors[n]) for n in linked], dtype=np.int64)
        arrays["nodes/neighbor_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        _put_strings(arrays, "nodes/neighbors", [x for n in linked for x in nodes.neighbors[n]])
    return meta, arrays


def set_featurizer_state(featurizer, meta, arrays):
    """Put ``featurizer_state``'s result back (a ValueError naming the array when one does
    not fit)."""
    saved = meta.get("histories")
    if not isinstance(saved, list) or len(saved) != len(featurizer.histories):
        raise ValueError(f"The saved state of {_OWNER} must hold {len(featurizer.histories)} interaction "
                         f"histories. Got {saved!r:.80} instead.")
    for j, (entry, (key, history)) in enumerate(zip(saved, featurizer.histories.items())):
        if not isinstance(entry, dict) or (entry.get("user"), entry.get("item")) != key:
            raise ValueError(f"The saved interaction history {j} of {_OWNER} must be of columns {key}. "
                             f"Got {entry!r:.80} instead.")
        n_users, n_items = meta_int(_OWNER, entry, "users"), meta_int(_OWNER, entry, "items")
        users = unpack_strings(arrays, f"histories/{j}/users", n_users)
        lengths = take(_OWNER, arrays, f"histories/{j}/lengths", (n_users,), np.int64, 0)
        if int(lengths.sum()) != n_items:
            raise ValueError(f"The array 'histories/{j}/lengths' of {_OWNER} must add up to {n_items}.")
        times = take(_OWNER, arrays, f"histories/{j}/times", (n_items,), np.int64)
        items = unpack_strings(arrays, f"histories/{j}/items", n_items)
        history.set_lists(users, lengths.tolist(), times.tolist(), items)
    saved = meta.get("exact_stats", [])  # files written before target means: none
    columns = featurizer.stat_columns()
    if not isinstance(saved, list) or not all(isinstance(e, dict) for e in saved) or \
            [e.get("column") for e in saved] != columns:
        raise ValueError(f"The saved state of {_OWNER} must hold the target means of columns {columns}. "
                         f"Got {saved!r:.80} instead.")
    low, high = featurizer.target_range()
    for j, (entry, c) in enumerate(zip(saved, columns)):
        n = meta_int(_OWNER, entry, "values")
        values = take(_OWNER, arrays, f"exact_stats/{j}/values", (n,), np.float64)
        if not (np.isfinite(values).all() and (np.diff(values) > 0).all()):
            raise ValueError(f"The array 'exact_stats/{j}/values' of {_OWNER} must hold finite numbers, increasing.")
        folds = featurizer.exact_stats[c][1].shape[0]
        sums = take(_OWNER, arrays, f"exact_stats/{j}/sums", (folds, n), np.float64)
        if not np.isfinite(sums).all():
            raise ValueError(f"The array 'exact_stats/{j}/sums' of {_OWNER} must hold finite numbers.")
        counts = take(_OWNER, arrays, f"exact_stats/{j}/counts", (folds, n), np.int64, 0, 1 << 53)
        counts = counts.astype(np.float64)
        slack = 1e-9 * np.maximum(np.abs(sums), 1.0)  # sums of bin means round
        if ((sums < counts * low - slack) | (sums > counts * high + slack)).any():
            raise ValueError(f"The array 'exact_stats/{j}/sums' of {_OWNER} must hold sums of targets in "
                             f"[{low}, {high}], one a counted row.")
        featurizer.exact_stats[c] = (values, sums, counts)
    nodes = meta.get("nodes")
    featurizer.nodes.features.clear()
    featurizer.nodes.neighbors.clear()
    if nodes is None:
        return
    if not isinstance(nodes, dict):
        raise ValueError(f"The saved node index of {_OWNER} must be a dict. Got {nodes!r:.80} instead.")
    n_feat, n_linked = meta_int(_OWNER, nodes, "with_features"), meta_int(_OWNER, nodes, "with_neighbors")
    names = unpack_strings(arrays, "nodes/names", n_feat)
    hashes = arrays.get("nodes/hashes")
    n_hashes = hashes.shape[0] if isinstance(hashes, np.ndarray) and hashes.ndim == 1 else -1
    hashes = take(_OWNER, arrays, "nodes/hashes", (n_hashes,), np.int64)
    values = take(_OWNER, arrays, "nodes/values", (n_hashes,), np.float32)
    if not np.isfinite(values).all():
        raise ValueError(f"The array 'nodes/values' of {_OWNER} must hold finite numbers.")
    off = _offsets(arrays, "nodes/feature_offsets", n_feat, n_hashes)
    for i, name in enumerate(names):
        featurizer.nodes.features[name] = (np.array(hashes[off[i]:off[i + 1]]), np.array(values[off[i]:off[i + 1]]))
    linked = unpack_strings(arrays, "nodes/linked", n_linked)
    n_neighbors = arrays.get("nodes/neighbor_offsets")
    n_neighbors = int(n_neighbors[-1]) if isinstance(n_neighbors, np.ndarray) and n_neighbors.size else 0
    neighbors = unpack_strings(arrays, "nodes/neighbors", n_neighbors)
    off = _offsets(arrays, "nodes/neighbor_offsets", n_linked, len(neighbors))
    for i, name in enumerate(linked):
        featurizer.nodes.neighbors[name] = neighbors[off[i]:off[i + 1]]
