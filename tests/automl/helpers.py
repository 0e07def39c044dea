"""Featurize rows with a bare Featurizer and look at each row's feature ids."""
import numpy as np

import sparsebolt as sb
from sparsebolt.data.csv import read_chunks
from sparsebolt.automl.featurize import Featurizer, _salted

DIM = 1 << 30  # wide enough that two different tokens of a test never collide


def make(data_types, target="y", dim=DIM, **kw):
    data_types = {**data_types}
    data_types.setdefault(target, sb.types.categorical())
    return Featurizer(data_types, target, dim, **kw)


def featurize(feat, rows, mode="train"):
    """Per row: (list of ids, list of values) in entry order."""
    out = []
    for chunk in read_chunks(rows, feat.columns(mode != "predict"), 1 << 16, optional=feat.optional_columns()):
        offsets, ids, vals, _, _ = feat.transform(chunk, mode)
        out += [(ids[a:b].tolist(), vals[a:b].tolist()) for a, b in zip(offsets[:-1], offsets[1:])]
    return out


def ids_of(feat, rows, mode="train"):
    return [set(ids) for ids, _ in featurize(feat, rows, mode)]


def token_id(feat, value, *salt_names):
    """The feature id of one whole-string token under the salt of ``salt_names``."""
    return int(_salted([value], feat._salt(*salt_names))[0] % feat.input_dim)


def history_ids(feat, items, user_col="user", item_col="item", role="history"):
    return {token_id(feat, it, role, user_col, item_col) for it in items}


def norm(vals):
    return float(np.sqrt(np.sum(np.square(vals))))
