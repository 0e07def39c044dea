"""Data-parallel training on Ray (``pip install 'sparsebolt[distributed]'``).

``train`` starts (or joins) a Ray cluster, gives each worker a replica and a shard of the
data, exchanges only the gradient rows each batch touched and keeps the replicas
identical; see docs/distributed.md. Ray is imported only when ``train`` runs."""
from .data import SvmFiles, TextCsvFiles
from .gradients import combine, dense_nbytes, nbytes
from .trainer import TrainResult, train

__all__ = ["train", "TrainResult", "SvmFiles", "TextCsvFiles", "combine", "nbytes", "dense_nbytes"]
