"""Rows to predict, read from a pipe as they arrive."""


def test_json_lines_from_a_pipe_are_read_as_they_arrive():
    # a co-process writes a row and waits for its answer: reading a full buffer would block
    from sparsebolt.cli._input import json_row_batches, row_source

    class Pipe:
        name = "<stdin>"

        def __init__(self, lines):
            self.lines = lines

        def __iter__(self):
            while self.lines:
                yield self.lines.pop(0)

        def read1(self, n):
            return self.lines.pop(0) if self.lines else b""

        def read(self, n=-1):
            raise AssertionError("read(n) waits for n bytes")

    pipe = Pipe([b"\n", b'{"review": "fine", "price": 3}\n', b'{"review": "ok", "price": 4}\n'])
    with row_source(pipe, "stdin") as (kind, lines):
        batches = json_row_batches(lines, "stdin", 1, lambda row: row)
        assert kind == "jsonl" and next(batches) == ([2], [{"review": "fine", "price": 3}])
        assert pipe.lines == [b'{"review": "ok", "price": 4}\n']    # the next row not yet asked for
        assert next(batches) == ([3], [{"review": "ok", "price": 4}])
