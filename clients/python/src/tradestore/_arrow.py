"""A small Arrow IPC stream reader for the service's query answers, without pyarrow (Debian 12 does not package it).

It reads exactly what the server's Arrow writer emits: a Schema message, RecordBatch messages without compression or
dictionaries, then the end-of-stream marker; column types int8/16/32/64, float32/64, bool, utf8, decimal128(p, s),
timestamp[us, UTC] and date32, each nullable through a validity bitmap. The flatbuffer messages are parsed by hand
with :mod:`struct`; the buffers are mapped with ``numpy.frombuffer`` (no copy for integers, floats and times) and
turned into pandas columns whole:

* integers become ``int64`` (``Int64`` with NULLs), floats ``float64`` (NaN for NULL), booleans ``bool``
  (``boolean`` with NULLs), times ``datetime64[ns, UTC]`` (NaT for NULL);
* decimals stay exact: an ``object`` column of :class:`decimal.Decimal`, built from the 128-bit unscaled integers;
* text and dates are ``object`` columns of ``str`` and :class:`datetime.date`, NULL being ``None``.

A record batch whose message carries the custom metadata ``tradestore.truncated`` (``rows`` or ``bytes``) marks an
answer the server cut at its limits; one carrying ``tradestore.error`` (a problem+json document) marks an answer that
failed after it had started: :func:`read_frame` raises :class:`~tradestore.ProblemError` for it.

>>> import io
>>> frame, truncated = read_frame(io.BytesIO(body))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import decimal
import json
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator

from ._errors import ProblemError

_CONTINUATION = 0xFFFFFFFF
_MESSAGE_SCHEMA = 1
_MESSAGE_RECORD_BATCH = 3

# Type union of Schema.fbs.
_INT, _FLOAT, _UTF8, _BOOL, _DECIMAL, _DATE, _TIMESTAMP = 2, 3, 5, 6, 7, 8, 10
_TIME_UNIT_NS = {0: 1_000_000_000, 1: 1_000_000, 2: 1_000, 3: 1}

TRUNCATED_KEY = "tradestore.truncated"
ERROR_KEY = "tradestore.error"


class ArrowFormatError(ValueError):
    """The bytes are not an Arrow IPC stream this reader understands (the message says what it met)."""


@dataclass(frozen=True)
class ArrowField:
    """One column of the schema: its name, kind (``int``, ``float``, ``bool``, ``utf8``, ``decimal``, ``timestamp``,
    ``date``) and the parameters of that kind (bit width and sign, precision and scale, time unit)."""

    name: str
    kind: str
    bit_width: int = 0
    signed: bool = True
    precision: int = 0
    scale: int = 0
    unit_ns: int = 1_000


@dataclass
class _Column:
    """One column's pieces from every batch, converted once at the end."""

    field: ArrowField
    values: list[Any] = field(default_factory=list)
    valid: list[Any] = field(default_factory=list)


# -- flatbuffers ----------------------------------------------------------------------------------------------------

class _Table:
    """A flatbuffer table: fields are looked up through its vtable; absent fields answer their default."""

    __slots__ = ("buf", "pos", "vtable", "vsize")

    def __init__(self, buf: memoryview, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, index: int) -> int:
        slot = 4 + 2 * index
        if slot >= self.vsize:
            return 0
        offset = struct.unpack_from("<H", self.buf, self.vtable + slot)[0]
        return self.pos + offset if offset else 0

    def scalar(self, index: int, fmt: str, default: int) -> int:
        at = self._field(index)
        return struct.unpack_from(fmt, self.buf, at)[0] if at else default

    def _target(self, index: int) -> int:
        at = self._field(index)
        return at + struct.unpack_from("<I", self.buf, at)[0] if at else 0

    def table(self, index: int) -> "_Table | None":
        at = self._target(index)
        return _Table(self.buf, at) if at else None

    def string(self, index: int) -> str | None:
        at = self._target(index)
        if not at:
            return None
        length = struct.unpack_from("<I", self.buf, at)[0]
        return bytes(self.buf[at + 4:at + 4 + length]).decode("utf-8")

    def vector(self, index: int) -> tuple[int, int]:
        """(element count, position of the first element); (0, 0) when absent."""
        at = self._target(index)
        if not at:
            return 0, 0
        return struct.unpack_from("<I", self.buf, at)[0], at + 4

    def tables(self, index: int) -> list["_Table"]:
        count, start = self.vector(index)
        return [_Table(self.buf, start + 4 * i + struct.unpack_from("<I", self.buf, start + 4 * i)[0]) for i in range(count)]


def _root(metadata: memoryview) -> _Table:
    return _Table(metadata, struct.unpack_from("<I", metadata, 0)[0])


def _custom_metadata(table: _Table, index: int) -> dict[str, str]:
    return {kv.string(0) or "": kv.string(1) or "" for kv in table.tables(index)}


# -- messages -------------------------------------------------------------------------------------------------------

def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if data is None or len(data) < size:
        chunks = [data or b""]
        got = len(chunks[0])
        while got < size:
            more = source.read(size - got)
            if not more:
                raise ArrowFormatError(f"the stream ended inside a message ({got} of {size} bytes)")
            chunks.append(more)
            got += len(more)
        data = b"".join(chunks)
    return data


def _messages(source: BinaryIO) -> Iterator[tuple[_Table, memoryview]]:
    """Each message's flatbuffer (the Message table) and its body, until the end-of-stream marker (or a clean end)."""
    while True:
        head = source.read(4)
        if not head:
            return
        if len(head) < 4:
            head += _read_exactly(source, 4 - len(head))
        (size,) = struct.unpack("<I", head)
        if size == _CONTINUATION:
            (size,) = struct.unpack("<I", _read_exactly(source, 4))
        if size == 0:
            return
        metadata = memoryview(_read_exactly(source, size))
        message = _root(metadata)
        body_length = message.scalar(3, "<q", 0)
        body = memoryview(_read_exactly(source, body_length)) if body_length else memoryview(b"")
        yield message, body


def _field_of(table: _Table) -> ArrowField:
    name = table.string(0) or ""
    type_type = table.scalar(2, "<B", 0)
    kind = table.table(3)
    if table.vector(5)[0]:
        raise ArrowFormatError(f"column {name!r}: nested types are not read here")
    if type_type == _INT and kind is not None:
        return ArrowField(name, "int", bit_width=kind.scalar(0, "<i", 0), signed=bool(kind.scalar(1, "<B", 0)))
    if type_type == _FLOAT and kind is not None:
        precision = kind.scalar(0, "<h", 0)
        if precision not in (1, 2):
            raise ArrowFormatError(f"column {name!r}: half floats are not read here")
        return ArrowField(name, "float", bit_width=32 if precision == 1 else 64)
    if type_type == _UTF8:
        return ArrowField(name, "utf8")
    if type_type == _BOOL:
        return ArrowField(name, "bool")
    if type_type == _DECIMAL and kind is not None:
        if kind.scalar(2, "<i", 128) != 128:
            raise ArrowFormatError(f"column {name!r}: only decimal128 is read here")
        return ArrowField(name, "decimal", precision=kind.scalar(0, "<i", 0), scale=kind.scalar(1, "<i", 0))
    if type_type == _TIMESTAMP and kind is not None:
        return ArrowField(name, "timestamp", unit_ns=_TIME_UNIT_NS[kind.scalar(0, "<h", 0)])
    if type_type == _DATE and kind is not None:
        if kind.scalar(0, "<h", 1) != 0:
            raise ArrowFormatError(f"column {name!r}: only date32 (days) is read here")
        return ArrowField(name, "date")
    raise ArrowFormatError(f"column {name!r}: Arrow type {type_type} is not read here")


_BUFFERS = {"int": 2, "float": 2, "bool": 2, "decimal": 2, "timestamp": 2, "date": 2, "utf8": 3}


# -- columns --------------------------------------------------------------------------------------------------------

def _bits(np: Any, buffer: memoryview, length: int) -> Any:
    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little", count=length).astype(bool)


def _strings(np: Any, offsets: Any, data: memoryview) -> Any:
    """Every value of a utf8 column as a ``str`` object array: ASCII text is decoded once and sliced."""
    out = np.empty(len(offsets) - 1, dtype=object)
    bounds = offsets.tolist()
    raw = bytes(data[bounds[0]:bounds[-1]]) if bounds else b""
    base = bounds[0] if bounds else 0
    if raw.isascii():
        text = raw.decode("ascii")
        out[:] = [text[a - base:b - base] for a, b in zip(bounds, bounds[1:])]
    else:
        out[:] = [raw[a - base:b - base].decode("utf-8") for a, b in zip(bounds, bounds[1:])]
    return out


def _batch_column(np: Any, column: _Column, length: int, null_count: int, buffers: list[memoryview]) -> None:
    f = column.field
    valid = _bits(np, buffers[0], length) if null_count and len(buffers[0]) else None
    if f.kind == "int":
        values = np.frombuffer(buffers[1], dtype=f"<{'i' if f.signed else 'u'}{f.bit_width // 8}", count=length)
    elif f.kind == "float":
        values = np.frombuffer(buffers[1], dtype=f"<f{f.bit_width // 8}", count=length)
    elif f.kind == "timestamp":
        values = np.frombuffer(buffers[1], dtype="<i8", count=length)
    elif f.kind == "date":
        values = np.frombuffer(buffers[1], dtype="<i4", count=length)
    elif f.kind == "decimal":
        values = np.frombuffer(buffers[1], dtype="<i8", count=2 * length).reshape(length, 2)
    elif f.kind == "bool":
        values = _bits(np, buffers[1], length) if length else np.empty(0, dtype=bool)
    else:
        offsets = np.frombuffer(buffers[1], dtype="<i4", count=length + 1) if length else np.zeros(1, dtype=np.int32)
        values = _strings(np, offsets, buffers[2])
    column.values.append(values)
    column.valid.append(valid if valid is not None else np.ones(length, dtype=bool))


def _decimals(np: Any, pairs: Any, scale: int, valid: Any) -> Any:
    """Exact ``Decimal`` objects of decimal128 values. The unscaled value of a money column fits 64 bits: each distinct
    value is built once (``Decimal(int).scaleb``) when a sample shows repeats, else each value directly."""
    context = decimal.Context(prec=40)
    length = len(pairs)
    out = np.empty(length, dtype=object)
    if not length:
        return out
    pairs = np.where(valid[:, None], pairs, 0)  # a NULL's slot holds anything
    low, high = pairs[:, 0], pairs[:, 1]
    fits = bool(np.array_equal(high, low >> 63))
    exponent = -scale

    def make(unscaled: int) -> decimal.Decimal:
        return decimal.Decimal(unscaled).scaleb(exponent, context)

    if fits:
        sample = low[:4096]
        if len(np.unique(sample)) * 2 <= len(sample):
            import pandas as pd

            codes, uniques = pd.factorize(low)
            built = np.empty(len(uniques), dtype=object)
            built[:] = [make(v) for v in uniques.tolist()]
            out[:] = built[codes]
        else:
            out[:] = [make(v) for v in low.tolist()]
    else:
        unsigned = low.view(np.uint64).tolist()
        out[:] = [make((h << 64) | u) for h, u in zip(high.tolist(), unsigned)]
    if not valid.all():
        out[~valid] = None
    return out


def _series(np: Any, pd: Any, column: _Column) -> Any:
    f = column.field
    if column.values:
        values = np.concatenate(column.values) if len(column.values) > 1 else column.values[0]
        valid = np.concatenate(column.valid) if len(column.valid) > 1 else column.valid[0]
    else:
        shape: tuple[int, ...] = (0, 2) if f.kind == "decimal" else (0,)
        values = np.empty(shape, dtype=np.int64 if f.kind != "utf8" else object)
        valid = np.ones(0, dtype=bool)
    nulls = not valid.all()
    if f.kind == "int":
        # Unsigned columns (UTINYINT … UBIGINT) are uint64: UBIGINT's upper half does not fit int64.
        values = values.astype(np.int64 if f.signed else np.uint64, copy=False)
        if nulls:
            return pd.Series(pd.arrays.IntegerArray(values.copy(), ~valid), name=f.name)
        return pd.Series(values, name=f.name, dtype="int64" if f.signed else "uint64")
    if f.kind == "float":
        values = values.astype(np.float64)
        if nulls:
            values[~valid] = np.nan
        return pd.Series(values, name=f.name, dtype="float64")
    if f.kind == "bool":
        if nulls:
            return pd.Series(pd.arrays.BooleanArray(values.copy(), ~valid), name=f.name)
        return pd.Series(values, name=f.name, dtype="bool")
    if f.kind == "timestamp":
        return _times(np, pd, values, valid, f)
    if f.kind == "date":
        out = np.empty(len(values), dtype=object)
        epoch = datetime.date(1970, 1, 1).toordinal()
        days = np.where(valid, values, 0)  # a NULL's slot holds anything
        out[:] = [datetime.date.fromordinal(epoch + d) for d in days.tolist()]
        if nulls:
            out[~valid] = None
        return pd.Series(out, name=f.name, dtype=object)
    if f.kind == "decimal":
        return pd.Series(_decimals(np, values, f.scale, valid), name=f.name, dtype=object)
    if nulls:
        values = values.copy()
        values[~valid] = None
    return pd.Series(values, name=f.name, dtype=object)


def _times(np: Any, pd: Any, values: Any, valid: Any, f: ArrowField) -> Any:
    """``datetime64[ns, UTC]``; a time outside what nanoseconds hold (before 1677 or after 2262) makes the column one of
    aware ``datetime`` objects instead, so no time is wrapped round."""
    limit = np.iinfo(np.int64).max // f.unit_ns
    present = values[valid]
    if len(present) and (present.max() > limit or present.min() < -limit):
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        out = np.empty(len(values), dtype=object)
        out[:] = [epoch + datetime.timedelta(microseconds=v * f.unit_ns // 1000) for v in np.where(valid, values, 0).tolist()]
        out[~valid] = None
        return pd.Series(out, name=f.name, dtype=object)
    nanos = values.astype(np.int64) * f.unit_ns
    if not valid.all():
        nanos[~valid] = np.iinfo(np.int64).min  # NaT
    times = pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC")
    return pd.Series(times, name=f.name)


# -- the stream -----------------------------------------------------------------------------------------------------

def read_frame(source: BinaryIO) -> tuple[Any, str | None]:
    """The whole stream as a pandas DataFrame, and why the server cut it (``"rows"``, ``"bytes"`` or ``None``).

    Raises :class:`ProblemError` when the server marked the stream as failed, :class:`ArrowFormatError` when the bytes
    are not a stream this reader knows.
    """
    import numpy as np
    import pandas as pd

    columns: list[_Column] | None = None
    truncated: str | None = None
    for message, body in _messages(source):
        header_type = message.scalar(1, "<B", 0)
        header = message.table(2)
        if header is None:
            raise ArrowFormatError("a message without a header")
        if header_type == _MESSAGE_SCHEMA:
            if columns is not None:
                raise ArrowFormatError("a second schema")
            columns = [_Column(_field_of(t)) for t in header.tables(1)]
            continue
        if header_type != _MESSAGE_RECORD_BATCH:
            raise ArrowFormatError(f"message type {header_type} (dictionaries and tensors are not read here)")
        if columns is None:
            raise ArrowFormatError("a record batch before the schema")
        if header.table(3) is not None:
            raise ArrowFormatError("compressed record batches are not read here")
        marks = _custom_metadata(message, 4)
        if ERROR_KEY in marks:
            problem = json.loads(marks[ERROR_KEY])
            raise ProblemError.from_problem(problem, int(problem.get("status", 500)))
        truncated = marks.get(TRUNCATED_KEY, truncated)
        _read_batch(np, columns, header, body)
    if columns is None:
        raise ArrowFormatError("the stream holds no schema")
    series = [_series(np, pd, c) for c in columns]
    if not series:
        return pd.DataFrame(), truncated
    frame = pd.concat(series, axis=1, copy=False)
    frame.columns = [c.field.name for c in columns]
    return frame, truncated


def _read_batch(np: Any, columns: list[_Column], header: _Table, body: memoryview) -> None:
    length = header.scalar(0, "<q", 0)
    node_count, nodes_at = header.vector(1)
    buffer_count, buffers_at = header.vector(2)
    if node_count != len(columns):
        raise ArrowFormatError(f"a record batch of {node_count} columns for a schema of {len(columns)}")
    buf = header.buf
    next_buffer = 0
    for i, column in enumerate(columns):
        node_length, null_count = struct.unpack_from("<qq", buf, nodes_at + 16 * i)
        if node_length != length:
            raise ArrowFormatError(f"column {column.field.name!r}: {node_length} values in a batch of {length} rows")
        wanted = _BUFFERS[column.field.kind]
        if next_buffer + wanted > buffer_count:
            raise ArrowFormatError("a record batch with too few buffers")
        pieces = []
        for b in range(next_buffer, next_buffer + wanted):
            offset, size = struct.unpack_from("<qq", buf, buffers_at + 16 * b)
            if offset < 0 or size < 0 or offset + size > len(body):
                raise ArrowFormatError(f"column {column.field.name!r}: a buffer outside the message body")
            pieces.append(body[offset:offset + size])
        next_buffer += wanted
        _batch_column(np, column, length, null_count, pieces)
