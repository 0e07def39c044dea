"""A replica's state as it travels between the driver and the workers, and the job's
checkpoint file, a model file.

The checkpoint is an ordinary model file (``Model.save`` format: weights, optimizer state,
LSH tables, hash functions and schedule counters, written atomically) whose manifest also
holds the job's position under ``distributed``; ``sb.Model.load`` opens it as a model.
"""
import numpy as np

from ..io import restore_model_file, save_model_file

FILE = "checkpoint.sbm"


def replica_state(model):
    """(meta, {key: array}) of everything a replica needs to go on training bit for bit."""
    return model.get_state()


def load_replica_state(model, state):
    """Give ``model`` (the same graph, the same layer names) a ``replica_state``. The
    arrays are copied: those from Ray's object store are read-only, and the model keeps
    the arrays it is given."""
    meta, arrays = state
    model.set_state(meta, {k: np.array(v) for k, v in arrays.items()})


def save_checkpoint(model, path, position):
    """Write ``model`` with the job's ``position`` (JSON-able) to ``path`` atomically."""
    save_model_file(model, path, extra={"distributed": position})


def restore_checkpoint(model, path):
    """Load the checkpoint at ``path`` into ``model`` (its layers take the saved names);
    returns the job's position."""
    return restore_model_file(model, path).get("distributed")
