"""What a model file or a model holds, from its config, state and array shapes only (no
weights read): for ``sparsebolt info`` and the server's ``GET /model``."""
import numpy as np

from ._model import open_model_file
from .errors import ModelFileError


def _widths(config):
    """{node name: output width} of a model config's inputs and layers, where the config
    says it (a layer's 'dim'; a Concatenate's inputs summed; a LayerNorm's input)."""
    widths = {x["name"]: x["dim"] for x in config["inputs"]}
    for spec in config["layers"]:
        inputs = [widths.get(name) for name in spec["inputs"]]
        if spec["config"].get("dim") is not None:
            width = spec["config"]["dim"]
        elif None in inputs:
            width = None
        else:
            width = sum(inputs) if spec["class"] == "Concatenate" else inputs[0]
        widths[spec["config"]["name"]] = width
    return widths


def _layer_entry(spec, state, shapes, widths):
    config = spec["config"]
    name = config["name"]
    prefix = f"layers/{name}/"
    params = {k: int(np.prod(shapes[k])) for k in shapes if k.startswith(prefix) and "/" not in k[len(prefix):]}
    if prefix + "rows/E" in shapes and widths.get(spec["inputs"][0]) is not None:
        # a table saved as its trained rows: the whole table is the input's width of rows
        params[prefix + "E"] = widths[spec["inputs"][0]] * shapes[prefix + "E"][1]
    entry = {"name": name, "class": spec["class"], "inputs": spec["inputs"],
             "dim": widths.get(name), "activation": config.get("activation"),
             "parameters": sum(params.values())}
    index = state.get("index") if isinstance(state, dict) else None
    if spec["class"] == "FullyConnected":
        entry["sparsity"] = config.get("sparsity")
    if index:
        c = index["config"]
        entry["lsh"] = {"family": c["family"], "K": c["k"], "L": c["n_tables"], "R": c["reservoir"],
                        "active": index["n_active"], "rebuild_every": index["rebuild_every"],
                        "rehash_every": index["rehash_every"], "rebuilds": index["rebuilds"],
                        "frozen": index["frozen"], "labels_pinned": index["labels_inserted"]}
    return entry


def describe(config, state, shapes):
    """A JSON-able summary: inputs, layers (width, parameters, sparsity, hash settings),
    output, loss, optimizer and training steps and epochs. ``shapes`` maps array keys to shapes."""
    widths = _widths(config)
    layers = [_layer_entry(spec, state["layers"].get(spec["config"]["name"]), shapes, widths)
              for spec in config["layers"]]
    return {"inputs": config["inputs"], "output": config["output"], "layers": layers,
            "parameters": sum(layer["parameters"] for layer in layers), "loss": config["loss"]["name"],
            "optimizer": config["optimizer"], "steps": state["steps"], "epochs": state.get("epochs"),
            "optimizer_state": state.get("optimizer") is not None}


def describe_file(path):
    """``describe`` of a model file plus its format version, writer, date and size, and its
    human-readable text under "text" (a ModelFileError when the manifest's description is
    malformed, never another exception)."""
    with open_model_file(path) as archive:
        try:
            d = _describe_manifest(archive)
            d["text"] = format_description(d)
            return d
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
            raise ModelFileError(archive.path, "manifest.json", f"does not describe a model that can be shown "
                                 f"({type(e).__name__}: {str(e)[:200]})") from None


def _describe_manifest(archive):
    m = archive.manifest
    shapes = {k: tuple(v["shape"]) for k, v in m["arrays"].items()}
    out = {"path": archive.path, "format_version": m["format_version"],
           "sparsebolt_version": m.get("sparsebolt_version"), "created": m.get("created"),
           "bytes": archive.size, **describe(m["model"], m["state"], shapes)}
    if isinstance(m.get("automl"), dict):
        out["automl"] = describe_automl(m["automl"])
    training = m.get("training")
    if training:
        out["checkpoint"] = {"epoch": training["epoch"], "batch": training["batch"]}
        if isinstance(training.get("distributed"), dict):
            out["checkpoint"]["distributed"] = training["distributed"].get("config")
    return out


def _short(t):
    """A column type's config as 'text(tokenizer=auto, ...)', its non-default-looking settings only."""
    if not isinstance(t, dict):
        return repr(t)
    args = ", ".join(f"{k}={v}" for k, v in t.items() if k != "type" and v not in (None, False))
    return f"{t.get('type', '?')}({args})"


def describe_automl(saved):
    """The columns, target and classes of a UniversalDeepTransformer's manifest entry (a
    malformed entry gives what can be read, never an exception)."""
    config = saved.get("config") if isinstance(saved.get("config"), dict) else {}
    types = config.get("data_types") if isinstance(config.get("data_types"), dict) else {}
    featurizer = config.get("featurizer") if isinstance(config.get("featurizer"), dict) else {}
    labels = featurizer.get("labels") if isinstance(featurizer.get("labels"), dict) else {}
    names = labels.get("labels") if isinstance(labels.get("labels"), list) else []
    state = saved.get("state") if isinstance(saved.get("state"), dict) else {}
    histories = state.get("histories") if isinstance(state.get("histories"), list) else []
    nodes = state.get("nodes") if isinstance(state.get("nodes"), dict) else {}
    target = config.get("target")
    exact = featurizer.get("exact_values") if isinstance(featurizer.get("exact_values"), dict) else {}
    counts = {c: len(v) for c, v in exact.items() if isinstance(v, list)}
    means = featurizer.get("stat_columns") if isinstance(featurizer.get("stat_columns"), list) else []
    counts = {c: f", {n:,} exact values with a token" + (" and the target's mean" if c in means else "")
              for c, n in counts.items()}
    pairs = featurizer.get("exact_pairs") if isinstance(featurizer.get("exact_pairs"), list) else []
    for entry in pairs:
        if isinstance(entry, list) and len(entry) == 3 and all(isinstance(c, str) for c in entry[:2]) \
                and isinstance(entry[2], list):
            for c, other in ((entry[0], entry[1]), (entry[1], entry[0])):
                pair = f", {len(entry[2]):,} pairs of exact values with {other!r}, a token each"
                counts[c] = counts.get(c, "") + pair
    return {"columns": {str(c): _short(t) + counts.get(c, "")
                        for c, t in types.items() if c != target}, "target": target,
            "target_type": _short(types.get(target)), "classes": len(names), "class_names": names[:10],
            "temporal_tracking": config.get("temporal_tracking") or {},
            "interactions": sum(h.get("items", 0) for h in histories if isinstance(h, dict)
                                and isinstance(h.get("items"), int)),
            "indexed_nodes": nodes.get("with_features", 0)}


def describe_model(model):
    meta, arrays = model.get_state(optimizer_state=True)
    return describe(model.get_config(), meta, {k: a.shape for k, a in arrays.items()})


def format_description(d):
    """The human-readable form of ``describe_file``'s result (``sparsebolt info``)."""
    lines = [f"{d['path']}: sparsebolt model, format version {d['format_version']}, written by sparsebolt "
             f"{d['sparsebolt_version']} at {d['created']}, {d['bytes'] / 1e6:,.1f} MB"]
    for spec in d["inputs"]:
        lines.append(f"input  {spec['name']}: {spec['dim']:,} features")
    lines.append("layers:")
    for layer in d["layers"]:
        extra = f" activation={layer['activation']}" if layer["activation"] else ""
        if layer.get("sparsity") is not None:
            extra += f" sparsity={layer['sparsity']:g}"
        lines.append(f"  {layer['name']:<20} {layer['class']:<15} dim={layer['dim'] or '':<9} "
                     f"params={layer['parameters']:,}{extra}")
        lsh = layer.get("lsh")
        if lsh:
            lines.append(f"  {'':<20} LSH {lsh['family']} K={lsh['K']} L={lsh['L']} R={lsh['R']}, "
                         f"{lsh['active']:,} active neurons a sample; rebuild every {lsh['rebuild_every']} and "
                         f"rehash every {lsh['rehash_every']} batches ({lsh['rebuilds']} builds so far)"
                         + (f"; tables frozen, {lsh['labels_pinned']:,} labels pinned" if lsh["frozen"] else ""))
    opt = ", ".join(f"{k}={v}" for k, v in d["optimizer"].items() if k != "name")
    lines.append(f"output {d['output']}; loss {d['loss']}; optimizer {d['optimizer']['name']}"
                 + (f" ({opt})" if opt else "") + f"; state {'saved' if d['optimizer_state'] else 'not saved'}")
    lines.append(f"parameters {d['parameters']:,}; trained {d['steps']:,} steps"
                 + (f", {d['epochs']:,} epochs" if d["epochs"] is not None else ""))
    a = d.get("automl")
    if a:
        lines.append(f"UniversalDeepTransformer: target {a['target']!r} {a['target_type']}, {a['classes']:,} classes"
                     + (f" ({', '.join(map(str, a['class_names']))}{', ...' if a['classes'] > 10 else ''})"
                        if a["class_names"] else ""))
        for column, kind in a["columns"].items():
            lines.append(f"  column {column!r}: {kind}")
        if a["temporal_tracking"]:
            lines.append(f"  temporal tracking {a['temporal_tracking']}: {a['interactions']:,} interactions recorded")
        if a["indexed_nodes"]:
            lines.append(f"  graph: {a['indexed_nodes']:,} nodes indexed")
    if "checkpoint" in d:
        job = d["checkpoint"].get("distributed")
        lines.append(f"checkpoint: epoch {d['checkpoint']['epoch'] + 1}, {d['checkpoint']['batch']} batches into it"
                     + (f"; a Ray job of {job.get('num_workers')} workers, global batch "
                        f"{job.get('global_batch_size')}" if isinstance(job, dict) else ""))
    return "\n".join(lines)
