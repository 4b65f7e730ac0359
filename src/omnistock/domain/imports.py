"""Import files: rows read from a stream of bytes, each checked field by field.

A file is CSV with a header row (UTF-8, a byte order mark tolerated, LF or CRLF line ends,
fields quoted as RFC 4180 says, each record on one line) or JSON lines (one object a line).
It is read chunk by chunk and line by line: a line longer than `MAX_LINE_BYTES` is an error
of that line, skipped to its end without being kept, so no file can make the reader hold
more than one line at a time. Every bad row is reported with its line number (1 is the
first line of the file, the header of a CSV), the field and the reason; the caller decides
what to apply (nothing, when there is any error: see services/imports.py).
"""

from __future__ import annotations

import csv
import enum
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from omnistock.domain.errors import InvalidInput
from omnistock.domain.stock import MAX_QUANTITY

#: The longest line a file may hold (64 KiB): a longer one is an error, not a memory load.
MAX_LINE_BYTES = 64 * 1024
#: The most bad rows an answer lists (the count says how many there were in all).
MAX_ERRORS = 1000
_BOM = b"\xef\xbb\xbf"


class ImportKind(enum.StrEnum):
    ITEMS = "items"
    LOCATIONS = "locations"
    STOCK = "stock"


class FileFormat(enum.StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line of a file is refused."""

    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "message": f"line {self.line}: {self.reason}",
        }


@dataclass(frozen=True, slots=True)
class Record:
    """One row of a file: its line number and its fields as sent (strings from a CSV)."""

    line: int
    fields: dict[str, Any]


class StockRow(NamedTuple):
    """A counted position: on hand, and the unsellable units if the file says (None: as a
    single count, the unsellable units kept up to what is on hand). A tuple, as staged."""

    line: int
    location: str
    sku: str
    on_hand: int
    unsellable: int | None


#: A counted position as it is staged, (line, location, sku, on_hand, unsellable): a StockRow,
#: or the plain tuple the block reader builds (a million named tuples cost a second more).
Counted = tuple[int, str, str, int, int | None]


@dataclass(frozen=True, slots=True)
class Summary:
    """What an import did: rows read, created, updated, unchanged, movements written."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    movements: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "movements": self.movements,
        }


class ImportRefused(InvalidInput):
    """A file with bad rows: nothing of it was applied; `errors` lists them (up to
    MAX_ERRORS, in line order), `total` says how many were found."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        shown = sorted(errors, key=lambda e: (e.line, e.field))[:MAX_ERRORS]
        first = shown[0] if shown else RowError(0, "body", "the file is refused")
        self.total = len(errors) if total is None else total
        super().__init__("body", f"{self.total} bad row(s); line {first.line}: {first.reason}")
        self.errors = shown

    def extensions(self) -> dict[str, Any]:
        return {
            "field": "body",
            "errors": [e.as_dict() for e in self.errors],
            "error_count": self.total,
        }


class Errors:
    """The bad rows found so far: every one counted, the first MAX_ERRORS kept."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(error)

    def raise_if_any(self) -> None:
        if self.count:
            raise ImportRefused(self.kept, self.count)


def lines(
    chunks: Iterable[bytes], *, max_line: int = MAX_LINE_BYTES, first: int = 1
) -> Iterator[tuple[int, bytes | None]]:
    """(line number, from `first`, the line without its end) for each line; None for one
    over `max_line` bytes, whose bytes are dropped as they come (at most `max_line` are
    ever kept)."""
    number, carry, too_long, most = first, b"", False, max_line + 1  # +1: a CR before the LF
    for chunk in chunks:
        pieces = chunk.split(b"\n")
        if not too_long:
            carry += pieces[0]
            too_long = len(carry) > most
        if len(pieces) == 1:
            carry = b"" if too_long else carry
            continue
        yield number, None if too_long else _without_cr(carry)
        number += 1
        for piece in pieces[1:-1]:
            yield number, None if len(piece) > most else _without_cr(piece)
            number += 1
        carry = pieces[-1]
        too_long = len(carry) > most
        carry = b"" if too_long else carry
    if carry or too_long:
        yield number, None if too_long else _without_cr(carry)


def _without_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def records(
    chunks: Iterable[bytes],
    file_format: FileFormat,
    errors: Errors,
    *,
    max_line: int = MAX_LINE_BYTES,
) -> Iterator[Record]:
    """The rows of a file; each bad line goes to `errors` instead."""
    read = _csv_records if file_format is FileFormat.CSV else _json_records
    return read(_decoded(lines(chunks, max_line=max_line), errors, max_line), errors)


def stock_batches(
    chunks: Iterable[bytes],
    file_format: FileFormat,
    errors: Errors,
    *,
    max_line: int = MAX_LINE_BYTES,
) -> Iterator[list[Counted]]:
    """The good rows of a stock file (`stock_row`), a batch at a time; each bad one goes to
    `errors` instead. The lines of a plain CSV (the header `location,sku,on_hand` and
    maybe `unsellable`) are read a block of whole lines at a time (`_plain_batches`), the
    rest line by line as `records` are."""
    if file_format is FileFormat.NDJSON:
        rows = _checked_rows(records(chunks, file_format, errors, max_line=max_line), errors)
        yield from _batched(rows)
        return
    chunks = iter(chunks)
    read, head = _first_line(chunks, max_line)
    numbered = _decoded(lines([head], max_line=max_line), Errors(), max_line)  # a peek
    header = next(
        ([name.strip() for name in text.split(",")] for _, text in numbered if '"' not in text),
        [],
    )
    if header not in (_STOCK_COLUMNS, [*_STOCK_COLUMNS, "unsellable"]):
        again = itertools.chain([read], chunks)
        rows = _checked_rows(_csv_records(_decoded(lines(again, max_line=max_line), errors,
                                                   max_line), errors), errors)  # fmt: skip
        yield from _batched(rows)
        return
    yield from _plain_batches(itertools.chain([read[len(head) :]], chunks), errors, header,
                              max_line)  # fmt: skip


_STOCK_COLUMNS = ["location", "sku", "on_hand"]
#: A plain line of a stock CSV: two keys and one or two counts below MAX_QUANTITY (a longer
#: figure, or anything else, is left to the line by line reader, which names what is wrong).
_PLAIN_LINES = {
    width: re.compile(
        r"^([A-Za-z0-9][A-Za-z0-9._-]{0,63}),([A-Za-z0-9][A-Za-z0-9._-]{0,63}),([0-9]{1,9})"
        + (",([0-9]{0,9})" if width == 4 else "")
        + r"\r?$",
        re.MULTILINE | re.ASCII,
    ).findall
    for width in (3, 4)
}


def _first_line(chunks: Iterator[bytes], max_line: int) -> tuple[bytes, bytes]:
    """What was read of the file to reach the end of its first line, and that line with its
    end (all that was read, if it has none within `max_line` bytes)."""
    read = b""
    for chunk in chunks:
        read += chunk
        end = read.find(b"\n")
        if end >= 0:
            return read, read[: end + 1]
        if len(read) > max_line:
            break
    return read, read


def _plain_batches(
    chunks: Iterator[bytes], errors: Errors, header: list[str], max_line: int
) -> Iterator[list[Counted]]:
    """The rows of a plain stock CSV after its header, a block of whole lines at a time: one
    regular expression reads every line of a block in one go when they are all plain; a
    block where one is not (a bad line, a blank one, quotes) is read line by line."""
    number, carry = 2, b""
    for chunk in chunks:
        data = carry + chunk
        end = data.rfind(b"\n") + 1
        block, carry = data[:end], data[end:]
        if block:
            yield _plain_block(block, number, errors, header, max_line)
            number += block.count(b"\n")
        if len(carry) > max_line + 1:  # a line over the limit: dropped as it comes
            again = itertools.chain([carry], chunks)
            numbered = _decoded(lines(again, max_line=max_line, first=number), errors, max_line)
            yield from _batched(_plain_rows(numbered, errors, header))
            return
    if carry:
        yield _plain_block(carry, number, errors, header, max_line)


def _plain_block(
    block: bytes, number: int, errors: Errors, header: list[str], max_line: int
) -> list[Counted]:
    """The rows of `block`, lines of a stock CSV from line `number` on."""
    try:
        found = _PLAIN_LINES[len(header)](block.decode())
    except UnicodeDecodeError:
        found = []
    if len(found) == block.count(b"\n") + (not block.endswith(b"\n")):
        if len(header) == 3:
            return [
                (line, location, sku, int(on_hand), None)
                for line, (location, sku, on_hand) in enumerate(found, number)
            ]
        rows: list[Counted] = [
            (line, location, sku, int(on_hand), int(unsellable) if unsellable else None)
            for line, (location, sku, on_hand, unsellable) in enumerate(found, number)
        ]
        if all(row[4] is None or row[4] <= row[3] for row in rows):
            return rows
    numbered = _decoded(lines([block], max_line=max_line, first=number), errors, max_line)
    return list(_plain_rows(numbered, errors, header))


def _batched(rows: Iterator[StockRow], size: int = 5000) -> Iterator[list[Counted]]:
    while batch := list[Counted](itertools.islice(rows, size)):
        yield batch


def _plain_rows(
    numbered: Iterator[tuple[int, str]], errors: Errors, header: list[str]
) -> Iterator[StockRow]:
    width = len(header)
    for number, text in numbered:
        cells = text.split(",") if '"' not in text else None
        if cells is not None and len(cells) == width:
            location, sku, on_hand = cells[0], cells[1], _count(cells[2])
            unsellable = None if width == 3 or cells[3] == "" else _count(cells[3])
            if (
                _KEY(location)
                and _KEY(sku)
                and on_hand is not None
                and (
                    width == 3
                    or cells[3] == ""
                    or (unsellable is not None and unsellable <= on_hand)
                )
            ):
                yield StockRow(number, location, sku, on_hand, unsellable)
                continue
        yield from _checked_rows(
            _csv_records(iter([(0, ",".join(header)), (number, text)]), errors), errors
        )


def _checked_rows(rows: Iterator[Record], errors: Errors) -> Iterator[StockRow]:
    for record in rows:
        found = stock_row(record)
        if isinstance(found, list):
            for error in found:
                errors.add(error)
        else:
            yield found


def _decoded(
    numbered: Iterator[tuple[int, bytes | None]], errors: Errors, max_line: int
) -> Iterator[tuple[int, str]]:
    for number, raw in numbered:
        if raw is None:
            errors.add(RowError(number, "line", f"longer than {max_line} bytes"))
            continue
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            errors.add(RowError(number, "line", f"not UTF-8 (byte {error.start + 1})"))
            continue
        if "\x00" in text:
            errors.add(RowError(number, "line", "holds a NUL character"))
            continue
        if text and not text.isspace():
            yield number, text


def _csv_records(numbered: Iterator[tuple[int, str]], errors: Errors) -> Iterator[Record]:
    header: list[str] | None = None
    for number, text in numbered:
        try:  # a line without quotes is split as it is: the common case, and much faster
            cells = next(csv.reader([text], strict=True)) if '"' in text else text.split(",")
        except csv.Error as error:
            errors.add(RowError(number, "line", f"not a CSV record ({error})"))
            continue
        if header is None:
            header = [name.strip() for name in cells]
            if len(set(header)) != len(header) or "" in header:
                errors.add(RowError(number, "header", "column names must be unique, non-empty"))
                return
            continue
        if len(cells) != len(header):
            reason = f"{len(cells)} field(s) where the header names {len(header)}"
            errors.add(RowError(number, "line", reason))
            continue
        yield Record(number, {k: v for k, v in zip(header, cells, strict=True) if v != ""})
    if header is None:
        errors.add(RowError(1, "header", "the file is empty: a CSV starts with a header row"))


def _json_records(numbered: Iterator[tuple[int, str]], errors: Errors) -> Iterator[Record]:
    for number, text in numbered:
        try:
            value = json.loads(text)
        except ValueError as error:
            errors.add(RowError(number, "line", f"not JSON ({error})"))
            continue
        if not isinstance(value, dict):
            errors.add(RowError(number, "line", "must be a JSON object"))
            continue
        yield Record(number, {k: v for k, v in value.items() if v is not None})


def stock_row(record: Record) -> StockRow | list[RowError]:
    """A row of a stock file, or why not: location and sku keys, on_hand and the optional
    unsellable non-negative integers, unsellable at most on_hand."""
    fields = record.fields
    location, sku = fields.get("location"), fields.get("sku")
    on_hand, unsellable = _count(fields.get("on_hand")), _count(fields.get("unsellable", 0))
    if (  # the common case, told at the cost of a few comparisons
        len(fields) <= 4
        and isinstance(location, str)
        and isinstance(sku, str)
        and _KEY(location)
        and _KEY(sku)
        and on_hand is not None
        and unsellable is not None
        and unsellable <= on_hand
        and (len(fields) == 3 or "unsellable" in fields)
    ):
        given = fields.get("unsellable")
        return StockRow(record.line, location, sku, on_hand, None if given is None else unsellable)
    return _stock_errors(record)


def _count(value: object) -> int | None:
    """A quantity as a file gives it, or None when it is not one."""
    if type(value) is str and value.isdigit() and value.isascii():
        value = int(value)
    if type(value) is int and 0 <= value <= MAX_QUANTITY:
        return value
    return None


def _stock_errors(record: Record) -> list[RowError]:
    fields, found = record.fields, []
    unknown = sorted(set(fields) - {"location", "sku", "on_hand", "unsellable"})
    found += [RowError(record.line, name, "not a column of a stock file") for name in unknown]
    keys = {name: _key(fields.get(name)) for name in ("location", "sku")}
    found += [RowError(record.line, n, why) for n, (_, why) in keys.items() if why]
    on_hand, why = _quantity(fields.get("on_hand"), required=True)
    found += [RowError(record.line, "on_hand", why)] if why else []
    unsellable, why = _quantity(fields.get("unsellable"), required=False)
    found += [RowError(record.line, "unsellable", why)] if why else []
    if not found and unsellable is not None and on_hand is not None and unsellable > on_hand:
        found.append(RowError(record.line, "unsellable", "must be at most on_hand"))
    return found


_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z").match
_KEY_FORM = "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit"


def key_error(value: object) -> str | None:
    """Why `value` is not a sku or a location code (None: it is one)."""
    if not isinstance(value, str):
        return "must be text"
    return None if _KEY(value) else _KEY_FORM


def _key(value: object) -> tuple[object, str | None]:
    if value is None:
        return None, "is required"
    return value, key_error(value)


def _quantity(value: object, *, required: bool) -> tuple[int | None, str | None]:
    if value is None:
        return None, ("is required" if required else None)
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        return None, "must be a whole number of units"
    if not 0 <= value <= MAX_QUANTITY:
        return None, f"must be from 0 to {MAX_QUANTITY}"
    return value, None


#: How a caller checks a row of items or locations: the object, or the row's errors.
Validator = Callable[[Record], Any]


def fingerprint(file_format: FileFormat, *, location: str | None, complete: bool) -> hashlib._Hash:
    """A digest to feed the file's bytes to: what was sent under an import's key (the file
    and how it was to be read), so the same key with another file can be told apart."""
    digest = hashlib.sha256()
    digest.update(f"{file_format}|{location or ''}|{complete}\n".encode())
    return digest
