"""SQL results as DataFrames (pandas) or lists of dicts, with ``Decimal`` money and aware UTC times."""

from __future__ import annotations

import datetime
import http.client
import re
from decimal import Decimal
from typing import Any

from ._errors import ProblemError
from ._models import parse_time

# DuckDB type names as the service reports them (DESCRIBE's: "DECIMAL(18,8)", "BIGINT", "TIMESTAMP WITH TIME ZONE"), upper-cased.
# Lists, structs and maps arrive as JSON arrays and objects (kind "text": kept as Python lists and dicts).
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT", "UHUGEINT"}
_FLOATS = {"FLOAT", "DOUBLE"}
_TIMES = {"TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
# Exactly DECIMAL(p,s): "DECIMAL(18,8)[]" (a list of decimals) and "DECIMAL(18,8)[2]" (an array) are nested values.
_DECIMAL = re.compile(r"DECIMAL\(\d+, ?\d+\)")


def kind(type_name: str) -> str:
    """How a column's values are typed, from its DuckDB type: ``decimal``, ``int``, ``float``, ``time``, ``bool``,
    ``date`` or ``text`` (also every nested type). Names are matched whole, never by prefix."""
    upper = type_name.upper()
    if _DECIMAL.fullmatch(upper):
        return "decimal"
    if upper in _INTEGERS:
        return "int"
    if upper in _FLOATS:
        return "float"
    if upper in _TIMES:
        return "time"
    if upper == "BOOLEAN":
        return "bool"
    if upper == "DATE":
        return "date"
    return "text"


def _date(value: str) -> Any:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return value  # no calendar form (DuckDB's "infinity", a year BC): kept as the server's text


def _value(value: Any, column_kind: str) -> Any:
    if value is None:
        return None
    if column_kind == "decimal":
        # A number, or a string of its exact digits when wider than the server's decimal: Decimal holds both exactly.
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if column_kind == "int":
        return int(value)
    if column_kind == "float":
        return float(value)
    if column_kind == "time":
        try:
            return parse_time(value)
        except ValueError:
            return value  # no calendar form (DuckDB's "infinity"): kept as the server's text
    if column_kind == "date":
        return _date(value)
    return value


_ERROR_MARK = b'],"error":{'


def parse_answer(body: bytes) -> dict[str, Any]:
    """The JSON answer of a query; raises :class:`ProblemError` for one that failed after it had started, which the
    server ends with ``],"error":{problem}`` and leaves unfinished (so no JSON parser takes it as complete)."""
    import json

    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError:
        mark = body.rfind(_ERROR_MARK)
        if mark < 0:
            raise
        try:
            problem = json.loads(body[mark + len(_ERROR_MARK) - 1:])
        except ValueError:
            raise ValueError("the query's JSON answer is incomplete") from None
        raise ProblemError.from_problem(problem, int(problem.get("status", 500))) from None


class Rows(list):
    """The rows of a query as a list of dicts (what ``query(sql, as_frame=False)`` returns), each value typed by its
    column, with what a plain list cannot say:

    * ``columns``: the column names in order (also when there are no rows), the keys of each dict: a name that repeats
      (a join's ``t.trade_id, s.trade_id``) is suffixed as DuckDB does in ``SELECT * FROM (query)``, ``trade_id``,
      ``trade_id_1``, so every value is kept;
    * ``types``: their DuckDB types in the same order (``DECIMAL(18,8)``, ``TIMESTAMP WITH TIME ZONE``);
    * ``truncated``: ``"rows"`` or ``"bytes"`` when the server cut the answer at ``Security:Query:MaxRows`` or
      ``MaxResultBytes``, else ``None`` (as ``frame.attrs["truncated"]`` on the DataFrame path).
    * ``applied_seq``: the answer's ``TradeStore-Applied-Seq``, the journal seq DuckDB held when the query started
      (every write whose ``Trade.last_seq`` is at most it is in the rows), or ``None`` from a server that does not send
      it (as ``frame.attrs["applied_seq"]`` on the DataFrame path).

    It is a ``list``, so code that indexes, iterates or compares it with a list keeps working.
    """

    def __init__(self, rows: list[dict[str, Any]], columns: list[str], types: list[str], truncated: str | None,
                 applied_seq: int | None = None) -> None:
        super().__init__(rows)
        self.columns = columns
        self.types = types
        self.truncated = truncated
        self.applied_seq = applied_seq

    def __repr__(self) -> str:
        return f"Rows({list.__repr__(self)}, truncated={self.truncated!r})"

    # Why query() answered Rows rather than a DataFrame, for the message of a DataFrame attribute asked of them.
    _instead_of_a_frame: str | None = None

    def __getattr__(self, name: str) -> Any:
        # Only for names a list and Rows lack. query(sql).dtypes, .attrs or .to_csv() (docs/clients.md's first query) on
        # the Rows that query() answers without pandas failed with a bare "'Rows' object has no attribute 'dtypes'";
        # still an AttributeError (hasattr() and getattr(..., default) keep working), now saying why and what to do.
        if name.startswith("_") or self._instead_of_a_frame is None:
            raise AttributeError(f"'Rows' object has no attribute {name!r}", name=name, obj=self)
        raise AttributeError(f"'Rows' object has no attribute {name!r}: query() answered tradestore.Rows (a list of dicts "
                             f"with .columns, .types, .truncated and .applied_seq), not a pandas DataFrame, because "
                             f"{self._instead_of_a_frame}", name=name)   # no obj: Python would suggest 'types' for 'dtypes'


def applied_seq(headers: http.client.HTTPMessage) -> int | None:
    """A query answer's ``TradeStore-Applied-Seq``; ``None`` when the server did not send it (older than the header)."""
    value = headers.get("TradeStore-Applied-Seq")
    return int(value) if value is not None and value.strip().isdigit() else None


def unique_names(names: list[str]) -> list[str]:
    """The column names with a repeated one suffixed as DuckDB does in ``SELECT * FROM (query)``: ``x``, ``x_1``,
    ``x_2``, compared without case, and again if the suffixed name is taken (``x``, ``x``, ``x_1`` is ``x``, ``x_1``,
    ``x_1_1``). A row dict holds one value per key, so a join's ``t.trade_id, s.trade_id`` would otherwise keep only
    the last."""
    taken: set[str] = set()
    suffixes: dict[str, int] = {}
    unique = []
    for name in names:
        candidate = name
        while candidate.lower() in taken:
            suffixes[name.lower()] = suffixes.get(name.lower(), 0) + 1
            candidate = f"{name}_{suffixes[name.lower()]}"
        taken.add(candidate.lower())
        unique.append(candidate)
    return unique


def rows_from_json(answer: dict[str, Any], applied: int | None = None) -> Rows:
    """The JSON answer's rows as dicts, each value typed by its column, with the columns, the truncation and the
    answer's applied seq (``applied``, from its headers)."""
    names = unique_names([c["name"] for c in answer["columns"]])
    types = [c["type"] for c in answer["columns"]]
    columns = [(name, kind(t)) for name, t in zip(names, types)]
    rows = [{name: _value(v, k) for (name, k), v in zip(columns, row)} for row in answer["rows"]]
    # The footer names the limit whenever it cut the answer ("truncatedBy": "rows" | "bytes").
    truncated = answer.get("truncatedBy") if answer.get("truncated") else None
    return Rows(rows, names, types, truncated, applied)


def frame_from_json(answer: dict[str, Any]) -> Any:
    import pandas as pd

    columns = [(c["name"], kind(c["type"])) for c in answer["columns"]]
    data = {name: [row[i] for row in answer["rows"]] for i, (name, _) in enumerate(columns)}
    return _typed_frame(pd, data, columns)


def _typed_frame(pd: Any, data: dict[str, Any], columns: list[tuple[str, str]]) -> Any:
    frame = {}
    for name, column_kind in columns:
        series = pd.Series(data[name], dtype=object)
        missing = series.isna()
        if column_kind == "decimal":
            frame[name] = pd.Series([None if v is None else (v if isinstance(v, Decimal) else Decimal(str(v))) for v in series], dtype=object)
        elif column_kind == "int":
            frame[name] = pd.Series(pd.array([None if v is None else int(v) for v in series], dtype="Int64")) if missing.any() \
                else pd.to_numeric(series).astype("int64")
        elif column_kind == "float":
            frame[name] = pd.to_numeric(series).astype("float64")
        elif column_kind == "time":
            frame[name] = pd.to_datetime(series, utc=True)
        elif column_kind == "date":
            frame[name] = pd.Series([None if v is None else _date(v) for v in series], dtype=object)
        elif column_kind == "bool":
            frame[name] = series.astype("boolean" if missing.any() else "bool")
        else:
            frame[name] = series
    return _assemble(pd, frame)


def _assemble(pd: Any, columns: dict[str, Any]) -> Any:
    """Columns side by side; concat keeps each column's dtype and is ~10x faster than DataFrame(dict) here."""
    if not columns:
        return pd.DataFrame()
    frame = pd.concat(list(columns.values()), axis=1, keys=list(columns.keys()), copy=False)
    frame.columns = list(columns.keys())
    return frame
