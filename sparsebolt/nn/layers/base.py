"""Layer and Node: the pieces of the model graph."""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_choice
from ...kernels import activations

ACTIVATIONS = {"linear": activations.LINEAR, "relu": activations.RELU, "tanh": activations.TANH,
               "sigmoid": activations.SIGMOID, "softmax": activations.SOFTMAX}


def activation_code(owner, name):
    return ACTIVATIONS[check_choice(owner, "activation", name, tuple(ACTIVATIONS))]


@dataclass
class Context:
    """What a forward pass is for. ``labels`` (a Labels batch) reach the output layer only
    in training, where they are forced into its active set; ``serial`` runs the kernels
    single-threaded (single-sample inference). With ``softmax_ce`` the loss is softmax
    cross-entropy, and a sparse output layer may compute its input gradient during the
    forward pass, leaving it in ``output_input_grad`` for its backward."""

    training: bool = False
    sparse_inference: bool = False
    labels: object = None
    salt: int = 0
    serial: bool = False
    softmax_ce: bool = False
    output_input_grad: object = None


class Node:
    """A symbolic tensor: the output of ``layer`` applied to ``inputs`` (other Nodes)."""

    def __init__(self, layer, inputs, dim):
        self.layer = layer
        self.inputs = list(inputs)
        self.dim = dim

    def __repr__(self):
        return f"<Node {self.layer.name} dim={self.dim}>"


class Layer:
    """Base class. A layer keeps its config, is called on Nodes to join the graph (once),
    is built by the Model with the input widths, and implements forward and backward."""

    n_inputs = 1

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"The 'name' parameter of {type(self).__name__} must be a non-empty str. Got {name!r} instead.")
        # an unnamed layer is numbered by the Model it joins (``Model.name_layers``): the
        # same code names the same model alike in every process
        self.auto_named = name is None
        self.name = type(self).__name__.lower() if name is None else name
        self.node = None
        self.input_dims = None

    def __call__(self, *inputs):
        owner = type(self).__name__
        if self.node is not None:
            raise ValueError(f"{owner} '{self.name}' is already part of a graph; create a new layer to apply it again.")
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        for x in inputs:
            if not isinstance(x, Node):
                raise TypeError(f"{owner} '{self.name}' must be called on the output of sb.Input or of "
                                f"another layer. Got {type(x).__name__} instead.")
        if self.n_inputs is not None and len(inputs) != self.n_inputs:
            raise ValueError(f"{owner} '{self.name}' takes {self.n_inputs} input(s). Got {len(inputs)}.")
        self.input_dims = [x.dim for x in inputs]
        self.node = Node(self, inputs, self.output_dim(self.input_dims))
        return self.node

    def output_dim(self, input_dims):
        raise NotImplementedError

    def build(self, rng):
        """Create parameters (called by the Model with its seeded generator)."""

    def parameters(self):
        return []

    def forward(self, inputs, ctx):
        """inputs : list[Value] -> Value"""
        raise NotImplementedError

    def backward(self, inputs, output, grad, need_input_grads, ctx, preactivation=False):
        """grad : float32[output.vals.size], dL/d(output vals) (or d pre-activation when
        ``preactivation``), may be overwritten. Returns per input a flat gradient w.r.t. its
        vals, or None where ``need_input_grads`` is False."""
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    def get_state(self):
        """(JSON-able meta, {name: array}) of what ``build`` made, for ``sparsebolt.io``;
        by default the parameters under their short names ('W', 'b', ...)."""
        return {}, {p.name.rsplit("/", 1)[-1]: p.value for p in self.parameters()}

    def set_state(self, meta, arrays):
        """Take the state from ``get_state`` instead of being built (a layer with
        parameters creates them here)."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def dense_view(value):
    """float32[B, dim] of a Value (a sparse one is scattered into zeros)."""
    return value.to_dense()


def grad_for(value, dense_grad):
    """Map a gradient w.r.t. the dense view back to the Value's own flat layout."""
    if value.is_dense:
        return dense_grad.reshape(-1)
    rows = np.repeat(np.arange(value.batch_size), np.diff(value.offsets))
    return np.ascontiguousarray(dense_grad[rows, value.ids])
