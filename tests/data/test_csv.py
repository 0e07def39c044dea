"""CSV reading: quoting, embedded newlines, missing values, malformed rows with their line,
streaming in chunks; DataFrames and row dicts; and read_text_csv, which reads through it."""
import csv
import gzip
import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparsebolt as sb
from sparsebolt.data import DataFormatError
from sparsebolt.data import csv as csv_reader
from sparsebolt.data.csv import CodedColumn, RowError, read_chunks
from sparsebolt.data.text import read_text_csv


@pytest.fixture(autouse=True, params=["small chunks compiled", "default"])
def _compiled_chunk_rows(request, monkeypatch):
    """Each test twice: once with the compiled reader taking chunks of any size, as it takes
    a large file's, once with the default (the csv module reads small chunks)."""
    if request.param == "small chunks compiled":
        monkeypatch.setattr(csv_reader, "MIN_COMPILED_CHUNK_ROWS", 1)


def _write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _read(source, columns=("a", "b"), chunk_rows=100, **kw):
    chunks = list(read_chunks(source, list(columns), chunk_rows, **kw))
    rows = [tuple(c.columns[k][i] for k in columns) for c in chunks for i in range(len(c))]
    lines = [line for c in chunks for line in c.lines]
    return rows, lines, chunks


def test_quotes_commas_and_embedded_newlines(tmp_path):
    path = _write(tmp_path, 'a,b\n"x, y","say ""hi"""\n"two\nlines",z\nplain,"é"\n')
    rows, lines, _ = _read(path)
    assert rows == [("x, y", 'say "hi"'), ("two\nlines", "z"), ("plain", "é")]
    assert lines == [2, 3, 5]


def test_missing_values_are_none_and_unused_columns_ignored(tmp_path):
    path = _write(tmp_path, "a,extra,b\n,1,\nx,2,\n\n,3,y\n")
    rows, lines, _ = _read(path)
    assert rows == [(None, None), ("x", None), (None, "y")]
    assert lines == [2, 3, 5]  # the blank line 4 is skipped


def test_wrong_field_count_names_the_line_after_an_embedded_newline(tmp_path):
    path = _write(tmp_path, 'a,b\n"multi\nline",1\nok,2\nbad\n')
    with pytest.raises(DataFormatError) as err:
        _read(path)
    assert str(err.value).startswith(f"{path}, line 5: expected 2 fields as in the header, found 1")
    assert err.value.line == 5


def test_broken_quoting_names_the_line(tmp_path):
    path = _write(tmp_path, 'a,b\nok,1\n"open,2\n')
    with pytest.raises(DataFormatError, match=r"d\.csv, line 3: cannot parse the row"):
        _read(path)
    path = _write(tmp_path, 'a,b\nok,1\nx"y"z,2\nq,"a"b\n', "e.csv")
    with pytest.raises(DataFormatError, match=r"e\.csv, line 4: cannot parse the row"):
        _read(path)


def test_header_problems(tmp_path):
    with pytest.raises(DataFormatError, match=r"line 1: no column\(s\) \['b'\]; the header has \['a', 'c'\]"):
        _read(_write(tmp_path, "a,c\n1,2\n"))
    with pytest.raises(DataFormatError, match="the file is empty"):
        _read(_write(tmp_path, "", "empty.csv"))
    with pytest.raises(DataFormatError, match="has a header but no rows"):
        _read(_write(tmp_path, "a,b\n", "header.csv"))
    with pytest.raises(FileNotFoundError, match="No CSV file"):
        _read(str(tmp_path / "absent.csv"))
    rows, _, _ = _read(_write(tmp_path, "a\n1\n", "opt.csv"), optional=("b",))
    assert rows == [("1", None)]


def test_streams_in_chunks_with_line_numbers(tmp_path):
    path = _write(tmp_path, "a,b\n" + "".join(f"{i},{i}\n" for i in range(5)))
    rows, lines, chunks = _read(path, chunk_rows=2)
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert lines == [2, 3, 4, 5, 6] and rows[4] == ("4", "4")
    assert [c.whole for c in chunks] == [False, False, False]
    assert [c.whole for c in _read(path, chunk_rows=6)[2]] == [True]


def test_a_chunk_knows_whether_it_holds_every_row(tmp_path):
    pd = pytest.importorskip("pandas")
    for source in (pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3]}), [{"a": i, "b": i} for i in range(3)]):
        assert [c.whole for c in _read(source, chunk_rows=3)[2]] == [True]
        assert [c.whole for c in _read(source, chunk_rows=2)[2]] == [False, False]


def test_gzip_and_other_delimiters(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("a\tb\nx y\t1\n")
    rows, _, _ = _read(str(path), delimiter="\t")
    assert rows == [("x y", "1")]


def test_dataframe_columns_of_every_dtype_read_their_missing_values_as_one_by_one():
    pd = pytest.importorskip("pandas")
    from sparsebolt.data.csv import _frame_chunks, _is_missing

    mixed = ["x", None, "", float("nan"), pd.NA, pd.NaT, np.datetime64("NaT"), 3, 2.5, "y"]
    frame = pd.DataFrame({
        "float": [1.0, np.nan, 0.0, -0.0, np.inf, 2.0, np.nan, 5.0, 6.0, 7.0],
        "float32": np.array([1, np.nan, 2, 3, 4, 5, 6, 7, 8, np.nan], dtype=np.float32),
        "int": np.arange(10), "bool": np.arange(10) % 2 == 0,
        "str": pd.Series(["a", None, "", "b", "c", "", None, "d", "e", "f"], dtype="str"),
        "string": pd.Series(["a", None, "", "b", "c", "", None, "d", "e", "f"], dtype="string"),
        "category": pd.Series(["a", None, "", "b", "a", "", None, "b", "a", "a"], dtype="category"),
        "object": pd.Series(mixed, dtype=object),
        "dates": pd.to_datetime(["2020-01-01", None] * 5), "nullable": pd.array([1, None] * 5, dtype="Int64"),
    })
    for c in frame.columns:
        for lo in (0, 3):
            want = [None if _is_missing(v) else v for v in frame[c].iloc[lo:].tolist()]
            got = [v for chunk in _frame_chunks(frame.iloc[lo:], [c], 4, set()) for v in chunk.columns[c]]
            assert [None if w is None else repr(w) for w in want] == [None if g is None else repr(g) for g in got], c


def test_a_damaged_gzip_file_is_a_data_format_error_naming_it(tmp_path):
    whole = gzip.compress(b"a,b\n" + b"".join(b"x%d,%d\n" % (i, i) for i in range(2000)))
    for name, data in (("cut.csv.gz", whole[:len(whole) // 2]),
                       ("flipped.csv.gz", whole[:40] + b"\xff" * 8 + whole[48:]), ("plain.csv.gz", b"a,b\nx,1\n")):
        (tmp_path / name).write_bytes(data)
        # EOFError, zlib.error and BadGzipFile had come out bare (the first read as Ctrl-D by click)
        with pytest.raises(DataFormatError, match=rf"{name}: cannot be read as gzip"):
            _read(str(tmp_path / name))
    (tmp_path / "named.csv").write_bytes(whole)  # had been 'not UTF-8 text ... save the file as UTF-8'
    with pytest.raises(DataFormatError, match=r"named.csv: is gzip-compressed; give it a name that ends in '.gz'"):
        _read(str(tmp_path / "named.csv"))


@pytest.mark.parametrize("values", [["b", "a", None, "", "b", "c", None, "a"], ["", "x", "y", "x"], ["p", "q", "r"],
                                    [None, None, "z"], ["a", "a", "a", "a", "b"]])
@pytest.mark.parametrize("dtype", ["str", "string", "category"])
def test_a_dataframes_text_columns_are_coded_as_a_files_are(values, dtype):
    pd = pytest.importorskip("pandas")
    from sparsebolt.automl.featurize import _distinct
    from sparsebolt.data.csv import CodedColumn, _frame_chunks, _is_missing

    frame = pd.DataFrame({"t": pd.Series(values, dtype=dtype)})
    for rows in (2, 3, 100):
        for chunk in _frame_chunks(frame, ["t"], rows, set()):
            column = chunk.columns["t"]
            assert isinstance(column, CodedColumn)
            plain = [None if _is_missing(v) else v for v in frame["t"].iloc[chunk.lines[0]:][:len(chunk)].tolist()]
            assert list(column) == plain
            # the distinct values in order of first appearance and each row's code, as worked out one by one
            want_distinct, want_codes = _distinct(plain)
            assert list(column.distinct) == want_distinct
            np.testing.assert_array_equal(column.codes, want_codes)


def test_dataframe_chunks_and_missing_values():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": ["x", None, "z"], "b": [1.0, float("nan"), 3.0], "c": [0, 0, 0]})
    rows, lines, chunks = _read(frame, chunk_rows=2)
    assert rows == [("x", 1.0), (None, None), ("z", 3.0)] and lines == [0, 1, 2]
    assert chunks[0].error(1, "boom").args[0] == "DataFrame, row 1: boom"
    # names matched as strings, as a CSV header's: a column 0 is the column '0'
    rows, _, _ = _read(frame.set_axis(["a", 0, "c"], axis=1), columns=("a", "0"))
    assert rows == [("x", 1.0), (None, None), ("z", 3.0)]
    with pytest.raises(DataFormatError, match=r"column\(s\) \['0'\] appear more than once"):
        _read(frame.set_axis(["a", 0, "0"], axis=1), columns=("a", "0"))
    # an index other than 0, 1, 2, ...: the label df.loc takes beside the position
    _, _, chunks = _read(frame.set_axis([100, 101, 102]).iloc[1:], chunk_rows=2)
    assert chunks[0].error(1, "boom").args[0] == "DataFrame, row 1 (index 102): boom"
    _, _, chunks = _read(frame.set_axis(["p", "q", "r"]), chunk_rows=2)
    assert len(chunks[1]) == 1 and chunks[1].error(0, "boom").args[0] == "DataFrame, row 2 (index 'r'): boom"
    with pytest.raises(DataFormatError, match=r"no column\(s\) \['q'\]"):
        _read(frame, columns=("a", "q"))


def test_row_dicts():
    rows, _, chunks = _read([{"a": "x"}, {"b": 2, "a": ""}])
    assert rows == [("x", None), (None, 2)]
    assert isinstance(chunks[0].error(0, "m"), RowError)
    with pytest.raises(RowError, match="rows, row 1: expected a dict"):
        _read([{"a": 1}, ["a", 1]])
    with pytest.raises(TypeError, match="CSV file path, a pandas DataFrame or a list of row dicts"):
        _read(42)


def test_encoding_problems_name_the_file_and_line(tmp_path):
    # issue 15, finding 10: a byte order mark stays out of the first column's name; bytes
    # that are not UTF-8 give a DataFormatError, not a bare UnicodeDecodeError
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbftext,label\nhello,a\n")
    assert _read(str(bom), ["text", "label"])[0] == [("hello", "a")]
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"text,label\ncaf\xe9,a\n")
    with pytest.raises(DataFormatError, match=r"latin1.csv.*line 2.*not UTF-8 text"):
        _read(str(latin), ["text", "label"])



def test_read_text_csv_reads_through_the_same_reader(tmp_path):
    from sparsebolt.data.text import read_text_csv
    path = _write(tmp_path, '\ufeffquery,label\n"salt, water",sea\n\n"two\nlines",x\n,empty\n')
    assert read_text_csv(path, "query", "label") == (["salt, water", "two\nlines", ""], ["sea", "x", "empty"])
    bad = _write(tmp_path, "query,label\nok,a\nno label\n", "bad.csv")
    with pytest.raises(DataFormatError, match=r"bad.csv, line 3: expected 2 fields as in the header, found 1"):
        read_text_csv(bad, "query", "label")
    with pytest.raises(DataFormatError, match=r"line 1: no column\(s\) \['text'\]"):
        read_text_csv(path, "text", "label")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"query,label\nok,a\ncaf\xe9,a\n")
    with pytest.raises(DataFormatError, match=r"latin1.csv.*line 3.*not UTF-8 text"):
        read_text_csv(str(latin), "query", "label")


def test_an_unknown_label_names_its_line_after_an_embedded_newline(tmp_path):
    path = _write(tmp_path, 'query,label\n"two\nlines",a\nthird,zzz\n')
    feat = sb.data.HashedTextFeaturizer(dim=64)
    with pytest.raises(DataFormatError, match=r"line 4: label 'zzz' is not in the label vocabulary"):
        sb.data.load_text_csv(path, "query", "label", feat, label_vocab={"a": 0})


def test_pandas_and_numpy_missing_markers_are_missing():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": pd.array(["x", None, "z"], dtype="string"),
                          "b": pd.array([1, None, 3], dtype="Int64")})
    frame["c"] = pd.to_datetime(["2020-01-01", None, "2020-01-03"])
    rows, _, _ = _read(frame, columns=("a", "b", "c"))
    assert [r[:2] for r in rows] == [("x", 1), (None, None), ("z", 3)]
    assert rows[1][2] is None and rows[0][2] is not None
    rows, _, _ = _read([{"a": np.float32("nan"), "b": np.datetime64("NaT")}, {"a": pd.NA, "b": pd.NaT}])
    assert rows == [(None, None), (None, None)]


def test_a_column_named_twice_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"d.csv, line 1: column\(s\) \['a'\] appear more than once in the "
                                              r"header \['a', 'b', 'a'\]"):
        _read(_write(tmp_path, "a,b,a\n1,2,3\n"))
    rows, _, _ = _read(_write(tmp_path, "a,b,c,c\n1,2,3,4\n", "unused.csv"))  # unused columns may repeat
    assert rows == [("1", "2")]
    pd = pytest.importorskip("pandas")
    frame = pd.concat([pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"a": [3]})], axis=1)
    with pytest.raises(DataFormatError, match=r"DataFrame: column\(s\) \['a'\] appear more than once"):
        _read(frame)


# the compiled reader (kernels/csv.py) against Python's csv module on the same files

_FIELD = st.lists(st.sampled_from(["a", "b", " ", ",", '"', "\n", "\r\n", "é", "語", "\U0001F600", "1"]),
                  max_size=6).map("".join)


def _csv_module(path, columns, chunk_rows, **kw):
    """read_chunks with the compiled reader turned away: Python's csv module reads the file."""
    scan = csv_reader._scan
    csv_reader._scan = lambda *a: None
    try:
        return list(read_chunks(path, columns, chunk_rows, **kw))
    finally:
        csv_reader._scan = scan


def _same_chunks(compiled, reference):
    assert len(compiled) == len(reference)
    for a, b in zip(compiled, reference):
        assert (a.lines, a.whole) == (b.lines, b.whole)
        assert {c: list(v) for c, v in a.columns.items()} == b.columns
        for values in a.columns.values():
            if isinstance(values, CodedColumn):
                assert len(set(values.distinct)) == len(values.distinct)
                assert [values.distinct[k] for k in values.codes] == list(values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_FIELD, min_size=3, max_size=3), min_size=1, max_size=12),
       quote_all=st.booleans(), ending=st.sampled_from(["\n", "\r\n"]), blank=st.sampled_from([None, 0, 2]),
       bom=st.booleans(), chunk_rows=st.sampled_from([1, 3, 100]), last_newline=st.booleans())
def test_the_compiled_reader_reads_as_the_csv_module(tmp_path_factory, rows, quote_all, ending, blank, bom,
                                                     chunk_rows, last_newline):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=ending)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    lines = out.getvalue().split(ending)[:-1]
    if blank is not None and blank < len(lines):
        lines.insert(blank + 1, "")
    text = ending.join(lines) + (ending if last_newline else "")
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_bytes(((b"\xef\xbb\xbf" if bom else b"") + text.encode()))
    with pytest.MonkeyPatch.context() as patch:  # small chunks, as a large file's
        patch.setattr(csv_reader, "MIN_COMPILED_CHUNK_ROWS", 1)
        assert csv_reader._scan(str(path), ["a", "c"], chunk_rows, ",", ()) is not None
        compiled = list(read_chunks(str(path), ["c", "a", "x"], chunk_rows, optional=("x",)))
    _same_chunks(compiled, _csv_module(str(path), ["c", "a", "x"], chunk_rows, optional=("x",)))


@pytest.mark.parametrize("text", [
    'a,b\nx"y"z,1\n',  # a quote inside an unquoted field: a literal quote to the csv module
    'a,b\nx,1\ry,2\n',  # a lone carriage return ends a line
    'a,b\n"x\ry",1\n',
    'a,b\nx\x00,1\n',  # a NUL byte
    '"a\nb",b\nx,1\n',  # a header over two lines
    '\na,b\nx,1\n',  # a blank first line (an empty header)
])
def test_what_the_compiled_reader_leaves_to_the_csv_module(tmp_path, text):
    path = _write(tmp_path, text)
    assert csv_reader._scan(path, ["b"], 100, ",", ()) is None
    try:
        expected = _csv_module(path, ["b"], 100)
    except (DataFormatError, csv.Error) as e:
        with pytest.raises(type(e), match=re.escape(str(e))):
            list(read_chunks(path, ["b"], 100))
    else:
        _same_chunks(list(read_chunks(path, ["b"], 100)), expected)


def test_a_file_above_the_compiled_readers_size_streams_through_the_csv_module(tmp_path, monkeypatch):
    path = _write(tmp_path, "a,b\n" + "".join(f"{i % 7},{i}\n" for i in range(50)))
    monkeypatch.setattr(csv_reader, "MIN_COMPILED_CHUNK_ROWS", 1)
    assert isinstance(_read(path, chunk_rows=20)[2][0].columns["a"], CodedColumn)
    monkeypatch.setattr(csv_reader, "COMPILED_MAX_BYTES", 100)
    rows, lines, chunks = _read(path, chunk_rows=20)
    assert not isinstance(chunks[0].columns["a"], CodedColumn) and len(chunks) == 3
    assert rows[:2] == [("0", "0"), ("1", "1")] and lines[-1] == 51


def test_a_coded_column_holds_each_distinct_value_once(tmp_path):
    # a field quoted or not, and '' or '""', are one value each
    path = _write(tmp_path, 'a,b\nx,1\n"x",2\n,3\n"",4\n"say ""hi""",5\nx,6\n')
    (chunk,) = _read(path, chunk_rows=4096)[2]
    column = chunk.columns["a"]
    assert column == ["x", "x", None, None, 'say "hi"', "x"]
    assert column.distinct == ["x", None, 'say "hi"'] and column.codes.tolist() == [0, 0, 1, 1, 2, 0]


def test_the_csv_module_reads_what_the_compiled_reader_would_read_otherwise(tmp_path, monkeypatch):
    path = _write(tmp_path, "a,b\n" + "".join(f"{'x' * (i % 40)},{i}\n" for i in range(2000)))
    assert csv_reader._scan(path, ["a"], 2000, ",", ()) is not None
    monkeypatch.setattr(csv_reader, "MIN_COMPILED_CHUNK_ROWS", 1024)
    assert csv_reader._scan(path, ["a"], 1023, ",", ()) is None  # small chunks
    monkeypatch.setattr(csv, "field_size_limit", lambda: 38)  # a field over the csv module's limit
    assert csv_reader._scan(path, ["a"], 2000, ",", ()) is None
    monkeypatch.setattr(csv, "field_size_limit", lambda: 39)
    assert csv_reader._scan(path, ["a"], 2000, ",", ()) is not None


def test_a_field_over_the_csv_modules_limit_says_how_to_lift_it(tmp_path):
    path = _write(tmp_path, "a,b\n" + "x" * 200 + ",1\n")
    limit = csv.field_size_limit(100)
    try:
        with pytest.raises(DataFormatError, match=r"line 2: .*field limit \(100\).*csv.field_size_limit\(n\)"):
            _read(path, chunk_rows=4096)
        csv.field_size_limit(1000)
        assert _read(path, chunk_rows=4096)[2][0].columns["a"] == ["x" * 200]
    finally:
        csv.field_size_limit(limit)


def test_a_coded_columns_codes_are_read_only(tmp_path):
    (chunk,) = _read(_write(tmp_path, "a,b\nx,1\ny,2\n"), chunk_rows=4096)[2]
    with pytest.raises(ValueError, match="read-only"):
        chunk.columns["a"].codes[0] = 1


def test_chunk_rows_must_be_a_positive_int(tmp_path):
    with pytest.raises(ValueError, match="The 'chunk_rows' parameter of read_chunks must be an int >= 1. Got 0"):
        _read(_write(tmp_path, "a,b\nx,1\n"), chunk_rows=0)


def test_a_column_asked_for_twice_is_read_once(tmp_path):
    path = _write(tmp_path, "a,b\nx,1\ny,2\n")
    for source in (path, [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}]):
        (chunk,) = _read(source, columns=("a", "b", "a"), chunk_rows=4096)[2]
        assert chunk.columns["a"] == ["x", "y"] and chunk.columns["b"] == ["1", "2"]
    assert read_text_csv(path, "a", "a") == (["x", "y"], ["x", "y"])


@pytest.mark.parametrize("values", [
    ["a", "", "b", ""],                          # strings: '' is missing
    [1, 2, 3],                                   # ints: never
    [1.5, float("nan"), 2, -0.0],                # ints and floats: nan
    [True, False, 1],                            # bools are no ints here: each value checked
    ["x", None, 3, float("nan"), np.float32("nan"), np.int64(4), np.datetime64("NaT"), ""],
])
def test_row_dicts_mark_the_values_missing_that_is_missing_says(values):
    from sparsebolt.data.csv import _is_missing
    rows = [{"a": v, "b": 0} for v in values]
    got = [r[0] for r in _read(rows, chunk_rows=100)[0]]
    want = [None if _is_missing(v) else v for v in values]
    assert [g is None for g in got] == [w is None for w in want]
    assert [g for g in got if g is not None] == [w for w in want if w is not None]
