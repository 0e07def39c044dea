"""Counting an SVM file's rows for sample-balanced shards (data/shards.py)."""
from sparsebolt.data.shards import _row_starts, count_rows


def test_rows_are_the_lines_the_parser_reads(tmp_path):
    """Empty lines, lines of blanks and CR only, and the header are not rows; an
    unlabelled line (starting with a blank) and a last line without a newline are."""
    path = tmp_path / "f.svm"
    path.write_bytes(b"3 5 2\n0 1:1\n\n  \t\r\n\r\n1 2:1\r\n 3:1\n0 4:1")
    assert count_rows(path, True) == 4
    (offsets, lines), = list(_row_starts(path, True, 1 << 20))
    assert offsets.tolist() == [6, 20, 27, 32] and lines.tolist() == [2, 6, 7, 8]
    assert count_rows(path, False) == 5  # the header line counts when not skipped
