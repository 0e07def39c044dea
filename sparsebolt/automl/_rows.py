"""The rows of named columns a UniversalDeepTransformer is given as JSON (the server's
requests, the CLI's JSON lines): each value of the type its column reads, checked alike in
both places."""
import math

# what a JSON value of each column type may be (None, a missing value, always may)
ROW_TYPES = {"text": ((str,), "a string"), "categorical": ((str, int), "a string or an integer"),
             "numerical": ((int, float), "a number"), "date": ((str, int), "a string or an integer"),
             "node_id": ((str, int), "a string or an integer"), "neighbors": ((str,), "a string")}


class RowCheck:
    """The columns a model reads from a JSON row, and ``check`` of one row. With
    ``numbers_as_text`` a number may also come as a string, which the featurizer parses as a
    CSV's field (the CLI's JSON lines; the server's requests are typed)."""

    def __init__(self, udt, numbers_as_text=False):
        self.udt = udt
        self.numbers_as_text = numbers_as_text
        f = udt.featurizer
        self.types = {c: t.kind for c, t in udt.data_types.items() if c != udt.target}
        # columns the model can do without: it looks them up (neighbors in the node index,
        # tracked items in the histories) or takes "now" (the clock of temporal tracking)
        lookup = set(f.neighbor_columns) | {c for items in udt.temporal_tracking.values() for c in items}
        if f.time_column is not None:
            lookup.add(f.time_column)
        self.required = [c for c in self.types if c not in lookup]

    def check(self, row, update=False):
        """``row``, or a ValueError naming its first unknown, missing or mistyped column (a
        row to predict, or with ``update`` an interaction: the user, item and time columns)."""
        udt = self.udt
        types = dict(self.types, **{udt.target: udt.data_types[udt.target].kind}) if update else self.types
        for c, v in row.items():
            if c == udt.target and not update:
                raise ValueError(f"column {c!r} is the target, which the model predicts")
            if c not in types:
                raise ValueError(f"unknown column {c!r}: the model's columns are {list(self.types)}")
            kinds, expected = ROW_TYPES[types[c]]
            if self.numbers_as_text and types[c] == "numerical":
                kinds, expected = (int, float, str), "a number or a string of one"
            if v is not None and (isinstance(v, bool) or not isinstance(v, kinds)):
                raise ValueError(f"column {c!r} is {types[c]}: expected {expected} (or null), "
                                 f"got {type(v).__name__}")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"column {c!r}: numbers must be finite")
        tracking = udt.temporal_tracking
        tracked = [udt.featurizer.time_column] + [c for u, items in tracking.items() for c in (u, *items)]
        missing = [c for c in (tracked if update else self.required) if c not in row]
        if missing:
            raise ValueError(f"missing column(s) {missing}; give null for a missing value")
        if update and not any(row[u] is not None and any(row[i] is not None for i in items)
                              for u, items in tracking.items()):
            # it had answered 'recorded' and kept nothing
            raise ValueError(f"nothing to record: every tracked user or all their items are null "
                             f"(tracking {tracking})")
        return row
