"""Building a replica on a worker so that it matches the driver's model, and moving a
replica's state (``Model.get_state``) between processes."""
import numpy as np

from ..nn.model import Model


def check_distributable(model):
    """Replicas and checkpoints are built from model files, which hold the library's own
    layer, loss and optimizer classes only."""
    model.check_savable(verb="train", holder="distributed replicas and checkpoints are model files, which hold")


def check_one_input(model):
    """A replica reads its shard into one input (``model``, built by ``sb.distributed.train``'s
    ``model_or_config``)."""
    if len(model.inputs) != 1:
        raise ValueError(f"The 'model_or_config' parameter of sb.distributed.train must be (or build) a sb.Model of "
                         f"one input. Got a model of {len(model.inputs)} inputs instead.")


def replica_message(model):
    """What the driver sends to build a replica of ``model``: its config and its state,
    plain dicts and arrays as in a model file, so a worker never unpickles a model."""
    check_distributable(model)
    return {"config": model.get_config(), "state": model.get_state()}


def load_replica_state(model, state):
    """Give ``model`` (the same graph, the same layer names) a ``Model.get_state``. The
    arrays are copied: those from Ray's object store are read-only, and the model keeps
    the arrays it is given."""
    meta, arrays = state
    model.set_state(meta, {k: np.array(v) for k, v in arrays.items()})


def build_replica(replica):
    """A Model from what the driver sent: a ``replica_message`` or a zero-argument
    callable returning a Model."""
    if isinstance(replica, dict):
        model = Model.from_config(replica["config"], build=False)
        load_replica_state(model, replica["state"])
        return model
    model = replica()
    if not isinstance(model, Model):
        raise TypeError(f"The 'model_or_config' parameter of sb.distributed.train, a callable, must return a "
                        f"sb.Model. Got {type(model).__name__} from it instead.")
    return model
