"""Layer and Node: the pieces of the model graph."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._validation import check_choice
from ...kernels import activations

if TYPE_CHECKING:
    from ...data.value import Value
    from ..parameter import Parameter

ACTIVATIONS = {"linear": activations.LINEAR, "relu": activations.RELU, "tanh": activations.TANH,
               "sigmoid": activations.SIGMOID, "softmax": activations.SOFTMAX}


def activation_code(owner: str, name: str) -> int:
    return ACTIVATIONS[check_choice(owner, "activation", name, tuple(ACTIVATIONS))]


@dataclass
class Context:
    """What a forward pass is for. ``labels`` (a Labels batch) reach the output layer only
    in training, where they are forced into its active set; ``serial`` runs the kernels
    single-threaded (single-sample inference). With ``softmax_ce`` the loss is softmax
    cross-entropy, and a sparse output layer may compute its input gradient during the
    forward pass, leaving it in ``output_input_grad`` for its backward. ``stream``: the
    replica of data-parallel training (``Model.stream``), whose random draws differ."""

    training: bool = False
    sparse_inference: bool = False
    labels: object = None
    salt: int = 0
    serial: bool = False
    softmax_ce: bool = False
    output_input_grad: object = None
    stream: int = 0


class Node:
    """A symbolic tensor: the output of ``layer`` applied to ``inputs`` (other Nodes)."""

    def __init__(self, layer: Layer, inputs: list[Node], dim: int) -> None:
        self.layer = layer
        self.inputs = list(inputs)
        self.dim = dim

    def __repr__(self):
        return f"<Node {self.layer.name} dim={self.dim}>"


class Layer:
    """Base class of the layers. A layer keeps its config, is called on Nodes to join the
    graph (once), is built by the Model with the input widths, and implements forward and
    backward. The methods below are what the Model calls; a user calls the layer on Nodes.

    Parameters
    ----------
    name : str or None, default=None
        The layer's name in the model (and its file); None numbers it by kind
        ('fullyconnected_1', ...) when it joins a Model.
    """

    n_inputs = 1

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"The 'name' parameter of {type(self).__name__} must be a non-empty str. Got {name!r} instead.")
        # an unnamed layer is numbered by the Model it joins (``Model.name_layers``): the
        # same code names the same model alike in every process
        self.auto_named = name is None
        self.name = type(self).__name__.lower() if name is None else name
        self.node = None
        self.input_dims = None

    def __call__(self, *inputs: Node) -> Node:
        owner = type(self).__name__
        if self.node is not None:
            raise ValueError(f"{owner} '{self.name}' is already part of a graph; create a new layer to apply it again.")
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        for x in inputs:
            if not isinstance(x, Node):
                raise TypeError(f"The 'inputs' parameter of {owner} '{self.name}' must be outputs of sb.Input or of "
                                f"another layer. Got {type(x).__name__} instead.")
        if self.n_inputs is not None and len(inputs) != self.n_inputs:
            raise ValueError(f"The 'inputs' parameter of {owner} '{self.name}' must be {self.n_inputs} node(s). Got "
                             f"{len(inputs)} instead.")
        self.input_dims = [x.dim for x in inputs]
        self.node = Node(self, inputs, self.output_dim(self.input_dims))
        return self.node

    def output_dim(self, input_dims: list[int]) -> int:
        """The layer's output width.

        Parameters
        ----------
        input_dims : list of int
            The widths of its inputs.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            When the inputs do not fit the layer.
        """
        raise NotImplementedError

    def cost(self, in_widths: list[float]) -> tuple[float, float]:
        """A sample's forward multiply-adds, roughly, and how many values it passes on,
        from how many each input passes on (a sparse input's nonzeros, a sparse layer's
        active neurons). The Model sums them to decide whether a step is worth a second
        thread. Here: one operation an input value, every output value passed on.

        Parameters
        ----------
        in_widths : list of float
            Values a sample of each input passes on.

        Returns
        -------
        (float, float)
            Multiply-adds, output values.
        """
        return float(sum(in_widths)), float(self.node.dim)

    def build(self, rng: np.random.Generator) -> None:
        """Create the parameters (called by the Model; does nothing here).

        Parameters
        ----------
        rng : numpy.random.Generator
            The Model's seeded generator.
        """

    def parameters(self) -> list[Parameter]:
        """The trainable parameters, after ``build`` or ``set_state``.

        Returns
        -------
        list of Parameter
            Empty here.
        """
        return []

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        """The layer's output for a batch.

        Parameters
        ----------
        inputs : list of Value
            One a graph input of the layer.
        ctx : Context
            What the pass is for (training, sparse inference, labels, ...).

        Returns
        -------
        Value
        """
        raise NotImplementedError

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        """Fill the parameters' gradients and return the inputs'.

        Parameters
        ----------
        inputs : list of Value
            What ``forward`` took.
        output : Value
            What it returned.
        grad : ndarray of float32, shape (output.vals.size,)
            dL/d(output vals), or dL/d(pre-activation) with ``preactivation``; may be
            overwritten.
        need_input_grads : list of bool
            Which inputs need a gradient.
        ctx : Context
            The forward pass's.
        preactivation : bool, default=False
            Whether ``grad`` is already through the activation (the loss's fused softmax).

        Returns
        -------
        list of (ndarray or None)
            For each input, a flat float32 gradient w.r.t. its vals, or None where
            ``need_input_grads`` is False.
        """
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-able (``sparsebolt.io`` rebuilds the layer from
        them).

        Returns
        -------
        dict
        """
        return {"name": self.name}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What ``build`` made, for ``sparsebolt.io``.

        Returns
        -------
        meta : dict
            JSON-able settings.
        arrays : dict of str to ndarray
            By default the parameters under their short names ('W', 'b', ...).
        """
        return {}, {p.name.rsplit("/", 1)[-1]: p.value for p in self.parameters()}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Take the state from ``get_state`` instead of being built (a layer with
        parameters creates them here).

        Parameters
        ----------
        meta : dict
            The meta of ``get_state``.
        arrays : dict of str to ndarray
            Its arrays.

        Raises
        ------
        ValueError
            When the state does not fit the layer.
        """

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def dense_view(value: Value) -> np.ndarray:
    """float32[B, dim] of a Value (a sparse one is scattered into zeros)."""
    return value.to_dense()


def grad_for(value: Value, dense_grad: np.ndarray) -> np.ndarray:
    """Map a gradient w.r.t. the dense view back to the Value's own flat layout."""
    if value.is_dense:
        return dense_grad.reshape(-1)
    rows = np.repeat(np.arange(value.batch_size), np.diff(value.offsets))
    return np.ascontiguousarray(dense_grad[rows, value.ids])
