"""Reading import files (pure, no database): lines are cut at LF or CRLF whatever the chunks,
a line over the limit is an error of that line and is never kept whole, a BOM, quoted commas
and empty cells are read as a person means them, and every bad line is named by its number."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock.domain.imports import (
    Errors,
    FileFormat,
    StockRow,
    lines,
    records,
    stock_batches,
    stock_row,
)


def stock_rows(chunks: Iterable[bytes], file_format: FileFormat, errors: Errors) -> list[StockRow]:
    return [row for batch in stock_batches(chunks, file_format, errors) for row in batch]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@given(text=st.lists(st.text(alphabet="ab,\r", max_size=8), max_size=6), size=st.integers(1, 9))
def test_lines_are_the_same_whatever_the_chunks(text: list[str], size: int) -> None:
    data = "\n".join(text).encode()
    parts = data.split(b"\n")
    if parts[-1] == b"":  # what follows the last line end is no line
        parts.pop()
    expected = [(n, part.removesuffix(b"\r")) for n, part in enumerate(parts, 1)]
    assert list(lines(chunked(data, size), max_line=100)) == expected


def test_a_line_over_the_limit_is_dropped_as_it_comes_and_the_next_ones_still_read() -> None:
    data = b"short\n" + b"x" * 1_000_000 + b"\nafter\n"
    assert list(lines(chunked(data, 4096), max_line=1024)) == [
        (1, b"short"),
        (2, None),
        (3, b"after"),
    ]


def test_a_csv_with_a_bom_crlf_quoted_commas_and_empty_cells_reads_as_meant() -> None:
    data = '\ufeffsku,name,price\r\nA,"Socks, wool",\r\n'.encode()
    errors = Errors()
    found = list(records([data], FileFormat.CSV, errors))
    assert errors.count == 0
    assert [(r.line, r.fields) for r in found] == [(2, {"sku": "A", "name": "Socks, wool"})]


@pytest.mark.parametrize(
    ("data", "line", "field"),
    [
        (b"location,sku,on_hand\nWH,A,\xff\n", 2, "line"),
        (b"location,sku,on_hand\nWH,A\n", 2, "line"),
        (b"location,sku,on_hand\nWH,A,5,1\n", 2, "line"),
        (b"location,sku,on_hand,unsellable\nWH,A,1,2\n", 2, "unsellable"),
        (b"location,sku,on_hand\nWH,A,-1\n", 2, "on_hand"),
        (b"location,sku,on_hand\nWH,A B,1\n", 2, "sku"),
        (b"location,sku,on_hand,colour\nWH,A,1,red\n", 2, "colour"),
        (b'{"location": "WH", "sku": "A", "on_hand": true}\n', 1, "on_hand"),
        (b'["WH", "A", 1]\n', 1, "line"),
        (b"", 1, "header"),
    ],
)
def test_a_bad_stock_line_is_named_by_its_number_and_field(
    data: bytes, line: int, field: str
) -> None:
    errors = Errors()
    file_format = FileFormat.NDJSON if data[:1] in {b"{", b"["} else FileFormat.CSV
    assert list(stock_rows([data], file_format, errors)) == []
    assert [(e.line, e.field) for e in errors.kept] == [(line, field)]


def test_good_stock_lines_read_the_same_in_csv_and_json_lines() -> None:
    csv_rows = list(
        stock_rows(
            [b"location,sku,on_hand,unsellable\nWH,A,5,1\nWH,B,3,\n"], FileFormat.CSV, Errors()
        )
    )
    json_rows = list(
        stock_rows(
            [
                b'{"location": "WH", "sku": "A", "on_hand": 5, "unsellable": 1}\n'
                b'{"location": "WH", "sku": "B", "on_hand": 3}\n'
            ],
            FileFormat.NDJSON,
            Errors(),
        )
    )
    assert csv_rows == [StockRow(2, "WH", "A", 5, 1), StockRow(3, "WH", "B", 3, None)]
    assert json_rows == [StockRow(1, "WH", "A", 5, 1), StockRow(2, "WH", "B", 3, None)]


_CELLS = st.sampled_from(
    ["WH", "A", "b-2", "5", "0", "007", "12", "", " 3", "-1", "x y", "é", '"A"']
)


@given(
    width=st.sampled_from([3, 4]),
    body=st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(["WH", "ST-1"]),
                st.sampled_from(["A", "B.2"]),
                st.integers(0, 3) | st.integers(0, 10**9 + 1),
                st.sampled_from(["", "0", "1", "99"]),
            ),
            st.lists(_CELLS, min_size=0, max_size=5),
        ),
        max_size=12,
    ),
    crlf=st.booleans(),
    size=st.integers(1, 40),
    end=st.booleans(),
)
def test_a_plain_stock_csv_reads_as_the_line_by_line_reader_reads_it(
    width: int, body: list[object], crlf: bool, size: int, end: bool
) -> None:
    """The block reader of plain files answers, whatever the chunks, the very rows and
    errors that reading each line as a record (the general path) gives: it is a shortcut."""
    header = ["location", "sku", "on_hand", "unsellable"][:width]
    texts = [",".join(header)]
    for line in body:
        cells = [str(c) for c in line][:width] if isinstance(line, tuple) else line
        texts.append(",".join(cells))
    newline = "\r\n" if crlf else "\n"
    data = (newline.join(texts) + (newline if end else "")).encode()

    errors = Errors()
    found = stock_rows(chunked(data, size), FileFormat.CSV, errors)

    expected_errors = Errors()
    expected = []
    for record in records([data], FileFormat.CSV, expected_errors):
        row = stock_row(record)
        if isinstance(row, list):
            for error in row:
                expected_errors.add(error)
        else:
            expected.append(row)
    assert found == expected
    assert sorted(errors.kept, key=lambda e: (e.line, e.field)) == sorted(
        expected_errors.kept, key=lambda e: (e.line, e.field)
    )


def test_a_long_plain_stock_file_reads_every_row_in_blocks_with_its_line_number() -> None:
    data = b"location,sku,on_hand,unsellable\n" + b"".join(
        b"WH,SKU-%05d,%d,%s\n" % (n, n % 7, b"" if n % 3 else b"0") for n in range(20_000)
    )
    errors = Errors()
    batches = list(stock_batches(chunked(data, 65536), FileFormat.CSV, errors))
    rows = [row for batch in batches for row in batch]
    assert errors.count == 0 and len(batches) > 1
    assert [row[0] for row in rows] == list(range(2, 20_002))
    assert rows[4] == StockRow(6, "WH", "SKU-00004", 4, None)
    assert rows[3] == StockRow(5, "WH", "SKU-00003", 3, 0)
