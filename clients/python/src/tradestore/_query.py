"""SQL results as DataFrames (pandas) or lists of dicts, with ``Decimal`` money and aware UTC times."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from ._models import parse_time

# DuckDB type names as the service reports them (e.g. "Decimal", "BigInt", "Timestamp"), upper-cased.
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT"}
_FLOATS = {"FLOAT", "DOUBLE"}
_TIMES = {"TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"}


def kind(type_name: str) -> str:
    upper = type_name.upper()
    if upper.startswith("DECIMAL") or upper.startswith("NUMERIC"):
        return "decimal"
    if upper in _INTEGERS:
        return "int"
    if upper in _FLOATS:
        return "float"
    if upper in _TIMES:
        return "time"
    if upper == "BOOLEAN":
        return "bool"
    return "text"


def _value(value: Any, column_kind: str) -> Any:
    if value is None:
        return None
    if column_kind == "decimal":
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if column_kind == "int":
        return int(value)
    if column_kind == "float":
        return float(value)
    if column_kind == "time":
        return parse_time(value)
    return value


def rows_from_json(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON answer's rows as dicts, each value typed by its column."""
    columns = [(c["name"], kind(c["type"])) for c in answer["columns"]]
    return [{name: _value(v, k) for (name, k), v in zip(columns, row)} for row in answer["rows"]]


def frame_from_json(answer: dict[str, Any]) -> Any:
    import pandas as pd

    columns = [(c["name"], kind(c["type"])) for c in answer["columns"]]
    data = {name: [row[i] for row in answer["rows"]] for i, (name, _) in enumerate(columns)}
    return _typed_frame(pd, data, columns, parsed=True)


def frame_from_csv(body: bytes, columns: list[tuple[str, str]]) -> Any:
    """A CSV answer as a DataFrame typed by ``columns`` (name, kind): read as text by pandas' C parser, then converted."""
    import pandas as pd

    if not columns:
        return pd.DataFrame()
    text = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    data = {name: text[name] if name in text else [] for name, _ in columns}
    return _typed_frame(pd, data, columns, parsed=False)


def _typed_frame(pd: Any, data: dict[str, Any], columns: list[tuple[str, str]], parsed: bool) -> Any:
    frame = {}
    for name, column_kind in columns:
        series = pd.Series(data[name], dtype=object)
        missing = series.isna() if parsed else (series == "")
        if column_kind == "decimal":
            # object column of Decimal: exact, never float64.
            frame[name] = pd.Series([None if m else (v if isinstance(v, Decimal) else Decimal(str(v))) for v, m in zip(series, missing)], dtype=object)
        elif column_kind == "int":
            frame[name] = pd.to_numeric(series.mask(missing)).astype("Int64" if missing.any() else "int64")
        elif column_kind == "float":
            frame[name] = pd.to_numeric(series.mask(missing)).astype("float64")
        elif column_kind == "time":
            frame[name] = pd.to_datetime(series.mask(missing), utc=True)
        elif column_kind == "bool":
            values = series.mask(missing).map(lambda v: v if isinstance(v, bool) or v is None or v != v else v == "true")
            frame[name] = values.astype("boolean" if missing.any() else "bool")
        else:
            frame[name] = series.mask(missing, None) if not parsed else series
    return pd.DataFrame(frame, columns=[name for name, _ in columns])


def frame_from_arrow(body: bytes) -> Any:
    """An Arrow IPC stream as a DataFrame: decimal128 becomes object columns of Decimal, timestamp[us, UTC] aware times."""
    import pyarrow as pa

    return pa.ipc.open_stream(body).read_all().to_pandas()

