"""Temporal tracking: for each user, the items they interacted with, queried strictly before
a time so that a row never sees its own interaction or a later one."""
import numpy as np

from ..kernels import temporal as kernels

_NO_TIMES = np.zeros(0, dtype=np.int64)
_NO_CODES = np.zeros(0, dtype=np.int32)


class InteractionHistory:
    """Interactions ``(time, item)`` per user, kept sorted by time (ties in the order they
    were recorded). Recording is idempotent: the same (user, time, item) twice is kept once,
    so streaming a training file again in a later epoch changes nothing.

    Times are integers (seconds); items are strings. Each item also has a code, its place in
    ``vocab`` (the items in the order first recorded), for callers that hash each distinct
    item once. A user's history is two arrays (times int64, codes int32), and a chunk's rows
    are read and recorded together (``rows``): one kernel walks each user's rows in order.
    """

    def __init__(self):
        self._times = {}
        self._codes = {}
        self.vocab = []
        self._code_of = {}

    def __len__(self):
        return sum(t.shape[0] for t in self._times.values())

    @property
    def n_users(self):
        return len(self._times)

    def before(self, user, time, n):
        """The last ``n`` items of ``user`` with a time strictly below ``time`` (all of the
        user's items when ``time`` is None), oldest first."""
        return [self.vocab[c] for c in self.codes_before(user, time, n)]

    def codes_before(self, user, time, n):
        """``before``'s items as their codes (places in ``vocab``)."""
        times = self._times.get(user)
        if times is None:
            return []
        end = times.shape[0] if time is None else int(np.searchsorted(times, time))
        return self._codes[user][max(0, end - n):end].tolist()

    def record(self, user, time, item):
        self.rows([user], np.zeros(1, dtype=np.int64), np.array([time], dtype=np.int64), None, 0,
                  ([item], np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int64)))

    def rows(self, users, place, times, timed, n, items=None):
        """Each row's last ``n`` items of its user with a time strictly below its own (all of
        them where the row has no time), oldest first, as (offsets int64[rows + 1], codes
        int32[m]); then, with ``items``, the row's items recorded at its time, row after row:
        a row sees those of the rows before it, never its own, as ``record`` row by row would.

        users : the distinct user keys (str, None for no user: no past, nothing recorded)
        place : int64[rows], each row's place in ``users``
        times : int64[rows]   timed : bool[rows] or None (every row timed)
        items : None, or (keys: item strings, offsets int64[rows + 1], ids int64[m]): each
                row's items, places in ``keys`` (a key may repeat); a row without a time
                records nothing
        """
        known = list(dict.fromkeys(u for u in users if u is not None))
        slot = {u: k for k, u in enumerate(known)}
        row_user = np.array([-1 if u is None else slot[u] for u in users], dtype=np.int64)[place]
        times = np.asarray(times, dtype=np.int64)
        timed = np.ones(times.shape[0], dtype=bool) if timed is None else np.asarray(timed, dtype=bool)
        had = [self._times.get(u, _NO_TIMES).shape[0] for u in known]
        hist_offsets = np.zeros(len(known) + 1, dtype=np.int64)
        np.cumsum(had, out=hist_offsets[1:])
        hist_times = np.concatenate([_NO_TIMES] + [self._times.get(u, _NO_TIMES) for u in known])
        hist_codes = np.concatenate([_NO_CODES] + [self._codes.get(u, _NO_CODES) for u in known])
        if items is None:
            item_offsets, item_codes = np.zeros(times.shape[0] + 1, dtype=np.int64), _NO_CODES
        else:
            keys, item_offsets, ids = items
            item_offsets = np.asarray(item_offsets, dtype=np.int64)
            item_codes = self._codes_of(keys, ids, np.repeat((row_user >= 0) & timed, np.diff(item_offsets)))
        past_offsets, past_codes, new_offsets, new_times, new_codes = kernels.interactions(
            row_user, times, timed, item_offsets, item_codes, hist_offsets, hist_times, hist_codes, n)
        grown = np.flatnonzero(np.diff(new_offsets) > np.asarray(had, dtype=np.int64))
        if grown.size:
            # a user new to the history joins it (and ``as_lists``) at its first row that records
            firsts = np.full(len(known), row_user.shape[0], dtype=np.int64)
            brings = np.flatnonzero((row_user >= 0) & timed & (np.diff(item_offsets) > 0))
            np.minimum.at(firsts, row_user[brings], brings)
            for k in grown[np.argsort(firsts[grown], kind="stable")]:
                u = known[k]
                self._times[u] = new_times[new_offsets[k]:new_offsets[k + 1]].copy()
                self._codes[u] = new_codes[new_offsets[k]:new_offsets[k + 1]].copy()
        return past_offsets, past_codes

    def _codes_of(self, keys, ids, recorded):
        """int32[m]: the codes of items ``keys[ids]``, new items of the ``recorded`` entries
        coded in the order they first come (``vocab``'s); -1 for an unrecorded new one."""
        codes = np.array([self._code_of.get(k, -1) for k in keys], dtype=np.int64)
        first = np.unique(ids[recorded], return_index=True)
        for k in first[0][np.argsort(first[1], kind="stable")]:
            if codes[k] < 0:
                item = keys[k]
                code = self._code_of.get(item)
                if code is None:
                    code = self._code_of[item] = len(self.vocab)
                    self.vocab.append(item)
                codes[k] = code
        return codes[ids].astype(np.int32)

    def clear(self):
        self._times.clear()
        self._codes.clear()
        self.vocab.clear()
        self._code_of.clear()

    def arrays(self):
        """(users, lengths int64[U], times int64[k], codes int32[k]): every user's history
        laid end to end, users in recording order."""
        users = list(self._times)
        lengths = np.array([self._times[u].shape[0] for u in users], dtype=np.int64)
        return (users, lengths, np.concatenate([_NO_TIMES] + [self._times[u] for u in users]),
                np.concatenate([_NO_CODES] + [self._codes[u] for u in users]))

    def as_lists(self):
        """(users, lengths, times, items) as flat lists, users in recording order (the
        AutoML model's file packs them into arrays, ``automl._persist``)."""
        users, lengths, times, codes = self.arrays()
        return users, lengths.tolist(), times.tolist(), np.array(self.vocab, dtype=object)[codes].tolist()

    def set_lists(self, users, lengths, times, items):
        self.clear()
        for item in items:
            if item not in self._code_of:
                self._code_of[item] = len(self.vocab)
                self.vocab.append(item)
        times = np.asarray(times, dtype=np.int64)
        codes = np.array([self._code_of[x] for x in items], dtype=np.int32)
        pos = 0
        for u, n in zip(users, lengths):
            self._times[u], self._codes[u] = times[pos:pos + n].copy(), codes[pos:pos + n].copy()
            pos += n
