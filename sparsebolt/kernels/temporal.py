"""Users' interaction histories (``automl.temporal``): each row's items of its user strictly
before its time, and its own items recorded after it, row by row."""
import numpy as np
from numba import njit


@njit(cache=True)
def _walk(rows, row_time, row_timed, item_offsets, item_codes, times, codes, length, window, past_offsets,
          past_codes, fill):
    """One user's ``rows`` in order over its history ``times[:length]`` / ``codes[:length]``
    (room for every item the rows bring): each row's past, then its items inserted after any
    of the same time, an item already there at that time left out. With ``fill``, the pasts
    go to ``past_codes`` at ``past_offsets``; else each row's count to ``past_offsets[r + 1]``.
    Returns the history's length after the rows."""
    for r in rows:
        lo = np.searchsorted(times[:length], row_time[r]) if row_timed[r] else length
        k = min(window, lo)
        if fill:
            past_codes[past_offsets[r]:past_offsets[r] + k] = codes[lo - k:lo]
        else:
            past_offsets[r + 1] = k
        if not row_timed[r]:
            continue
        t = row_time[r]
        for e in range(item_offsets[r], item_offsets[r + 1]):
            c = item_codes[e]
            a = np.searchsorted(times[:length], t)
            b = np.searchsorted(times[:length], t, side="right")
            seen = False
            for j in range(a, b):
                if codes[j] == c:
                    seen = True
                    break
            if seen:
                continue
            for j in range(length, b, -1):
                times[j], codes[j] = times[j - 1], codes[j - 1]
            times[b], codes[b] = t, c
            length += 1
    return length


@njit(cache=True)
def interactions(row_user, row_time, row_timed, item_offsets, item_codes, hist_offsets, hist_times, hist_codes,
                 window):
    """Each row's last ``window`` items of its user with a time strictly below its own (all
    of them for an untimed row), oldest first, then the row's items recorded at its time
    (after those of an equal time; an item its user has at that time already is kept once):
    a row sees the items of the rows before it, never its own or those of the rows after it.

    row_user : int64[n]   each row's user in [0, U), -1 for none (no past, nothing recorded)
    row_time : int64[n]   row_timed : bool[n]   an untimed row records nothing
    item_offsets : int64[n + 1]   item_codes : int32[m]   each row's items to record
    hist_offsets : int64[U + 1]   hist_times : int64[h]   hist_codes : int32[h]   each user's
        history so far, by time (ties in the order recorded)
    returns (past_offsets int64[n + 1], past_codes int32[p], new_offsets int64[U + 1],
    new_times int64[k], new_codes int32[k]): the rows' pasts and the users' histories after them
    """
    n, n_users = row_user.shape[0], hist_offsets.shape[0] - 1
    # each user's rows in order, and room for its history and every item they bring
    starts = np.zeros(n_users + 1, dtype=np.int64)
    brought = np.zeros(n_users + 1, dtype=np.int64)
    for r in range(n):
        if row_user[r] >= 0:
            starts[row_user[r] + 1] += 1
            brought[row_user[r] + 1] += item_offsets[r + 1] - item_offsets[r]
    starts = np.cumsum(starts)
    room = hist_offsets + np.cumsum(brought)
    user_rows = np.empty(starts[n_users], dtype=np.int64)
    placed = starts[:-1].copy()
    for r in range(n):
        u = row_user[r]
        if u >= 0:
            user_rows[placed[u]] = r
            placed[u] += 1
    # first walk: how long each row's past and each user's history
    past_offsets = np.zeros(n + 1, dtype=np.int64)
    scratch_times = np.empty(room[n_users], dtype=np.int64)
    scratch_codes = np.empty(room[n_users], dtype=np.int32)
    new_offsets = np.zeros(n_users + 1, dtype=np.int64)
    for u in range(n_users):
        h, lo, hi = hist_offsets[u + 1] - hist_offsets[u], room[u], room[u + 1]
        scratch_times[lo:lo + h] = hist_times[hist_offsets[u]:hist_offsets[u + 1]]
        scratch_codes[lo:lo + h] = hist_codes[hist_offsets[u]:hist_offsets[u + 1]]
        new_offsets[u + 1] = new_offsets[u] + _walk(
            user_rows[starts[u]:starts[u + 1]], row_time, row_timed, item_offsets, item_codes, scratch_times[lo:hi],
            scratch_codes[lo:hi], h, window, past_offsets, scratch_codes[:0], False)
    past_offsets = np.cumsum(past_offsets)
    # second walk, in the histories' final places (never longer than there): the pasts
    past_codes = np.empty(past_offsets[n], dtype=np.int32)
    new_times = np.empty(new_offsets[n_users], dtype=np.int64)
    new_codes = np.empty(new_offsets[n_users], dtype=np.int32)
    for u in range(n_users):
        h, lo, hi = hist_offsets[u + 1] - hist_offsets[u], new_offsets[u], new_offsets[u + 1]
        new_times[lo:lo + h] = hist_times[hist_offsets[u]:hist_offsets[u + 1]]
        new_codes[lo:lo + h] = hist_codes[hist_offsets[u]:hist_offsets[u + 1]]
        _walk(user_rows[starts[u]:starts[u + 1]], row_time, row_timed, item_offsets, item_codes, new_times[lo:hi],
              new_codes[lo:hi], h, window, past_offsets, past_codes, True)
    return past_offsets, past_codes, new_offsets, new_times, new_codes
