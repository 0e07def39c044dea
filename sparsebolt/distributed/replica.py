"""Building a replica on a worker so that it matches the driver's model."""
import pickle

from ..nn.model import Model


def build_replica(replica):
    """A Model from what the driver sent: a pickled Model (bytes, so that its arrays are the
    worker's own and writable, not read-only views of Ray's object store) or a
    zero-argument callable returning one."""
    model = pickle.loads(replica) if isinstance(replica, bytes) else replica()
    if not isinstance(model, Model):
        raise TypeError(f"The model factory must return a sb.Model. Got {type(model).__name__}.")
    return model


def adopt_names(model, layer_names):
    """Give the replica's layers (and so its parameters) the driver's names: gradients and
    optimizer state are keyed by parameter name, and auto-generated names count layers
    made in each process."""
    if [layer.name for layer in model.layers] == list(layer_names):
        return
    if len(model.layers) != len(layer_names):
        raise ValueError(f"The worker's model has {len(model.layers)} layers, the driver's {len(layer_names)}.")
    for layer, name in zip(model.layers, layer_names):
        layer.name = name
        for p in layer.parameters():
            p.name = f"{name}/{p.name.split('/', 1)[1]}"
    model.optimizer.state = {}
