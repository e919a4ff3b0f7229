"""The package's own Arrow reader (no pyarrow) against the server's Arrow answers: every type the server emits gives the
same values as the JSON answer of the same query, with the dtypes issue #15 asks for."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

import tradestore
from tradestore import _arrow, _query

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

ARROW = "application/vnd.apache.arrow.stream"

# One row per case; every column NULL in the last row. DECIMAL(18,8) is the money type (decimal128(18,8) in Arrow).
EVERY_TYPE = """
SELECT * FROM (VALUES
  (1, 9223372036854775807::BIGINT, 2147483647::INTEGER, (-32768)::SMALLINT, 127::TINYINT, 1.5::DOUBLE,
   'plain', true, 0.00000001::DECIMAL(18,8), TIMESTAMP '2026-11-30 09:30:00.123456', TIMESTAMPTZ '2026-11-30 09:30:00.5+00',
   DATE '2026-11-30', 12.5::DECIMAL(9,2)),
  (2, (-9223372036854775808)::BIGINT, (-2147483648)::INTEGER, 32767::SMALLINT, (-128)::TINYINT, (-0.1)::DOUBLE,
   'é ünïcödé ✓', false, 9999999999.99999999::DECIMAL(18,8), TIMESTAMP '1970-01-01 00:00:00', TIMESTAMPTZ '2000-02-29 23:59:59.999999+00',
   DATE '1970-01-01', (-0.01)::DECIMAL(9,2)),
  (3, 0::BIGINT, 0::INTEGER, 0::SMALLINT, 0::TINYINT, 0.0::DOUBLE,
   '', true, (-9999999999.99999999)::DECIMAL(18,8), TIMESTAMP '1900-01-01 12:00:00', TIMESTAMPTZ '2262-04-11 00:00:00+00',
   DATE '1900-01-01', 0::DECIMAL(9,2)),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(n, big, int, small, tiny, dbl, txt, flag, money, ts, tstz, day, narrow) ORDER BY n
"""


def arrow_frame(client: tradestore.Client, sql: str) -> tuple[object, str | None]:
    return _arrow.read_frame(io.BytesIO(client.query_bytes(sql, ARROW)))


def json_frame(client: tradestore.Client, sql: str) -> object:
    return _query.frame_from_json(client._transport.request("POST", "/v1/query", {"sql": sql}).json())


def same_values(left: object, right: object) -> None:
    """Cell by cell, exact: Decimals compare as numbers, NULL is None/NaN/NaT/NA on both sides."""
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for name in left.columns:
        for a, b in zip(left[name].tolist(), right[name].tolist()):
            if pd.isna(a) or pd.isna(b):
                assert pd.isna(a) and pd.isna(b), (name, a, b)
            else:
                assert a == b and type(a) is type(b), (name, a, b)


def test_read_frame_every_type_equals_the_json_answer(client: tradestore.Client) -> None:
    frame, truncated = arrow_frame(client, EVERY_TYPE)

    same_values(frame, json_frame(client, EVERY_TYPE))
    assert truncated is None
    assert frame["money"].tolist()[:3] == [Decimal("0.00000001"), Decimal("9999999999.99999999"), Decimal("-9999999999.99999999")]
    assert frame["txt"].tolist() == ["plain", "é ünïcödé ✓", "", None]
    assert frame["day"].tolist() == [date(2026, 11, 30), date(1970, 1, 1), date(1900, 1, 1), None]
    assert frame["ts"][0] == pd.Timestamp(datetime(2026, 11, 30, 9, 30, 0, 123456, tzinfo=timezone.utc))


def test_read_frame_dtypes_are_int64_decimal_objects_and_utc_times(client: tradestore.Client) -> None:
    frame, _ = arrow_frame(client, EVERY_TYPE)
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}

    assert dtypes == {
        "n": "int64", "big": "Int64", "int": "Int64", "small": "Int64", "tiny": "Int64", "dbl": "float64", "txt": "object",
        "flag": "boolean", "money": "object", "ts": "datetime64[ns, UTC]", "tstz": "datetime64[ns, UTC]", "day": "object",
        "narrow": "object",
    }
    assert all(isinstance(v, Decimal) for v in frame["money"][:3]) and frame["money"][3] is None


def test_read_frame_without_nulls_gives_plain_numpy_dtypes(client: tradestore.Client) -> None:
    frame, _ = arrow_frame(client, "SELECT 7::BIGINT AS i, true AS b, 2.5::DOUBLE AS d, TIMESTAMP '2026-01-02 03:04:05' AS t")

    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {"i": "int64", "b": "bool", "d": "float64", "t": "datetime64[ns, UTC]"}


def test_read_frame_empty_result_keeps_columns_and_dtypes(client: tradestore.Client) -> None:
    sql = "SELECT trade_id, quantity, version, executed_at FROM current_trade_state WHERE false"
    frame, _ = arrow_frame(client, sql)

    assert len(frame) == 0
    assert list(frame.columns) == ["trade_id", "quantity", "version", "executed_at"]
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {
        "trade_id": "object", "quantity": "object", "version": "int64", "executed_at": "datetime64[ns, UTC]"}


def test_read_frame_many_batches_equals_the_json_answer(client: tradestore.Client) -> None:
    # 150,001 rows: more than two of the server's record batches; money with repeats and without.
    sql = ("SELECT range AS i, (range % 97)::DECIMAL(18,8) / 8 AS repeated, (range * 1.00000001)::DECIMAL(18,8) AS distinct_money, "
           "CASE WHEN range % 5 = 0 THEN NULL ELSE 'row ' || range END AS label, "
           "TIMESTAMP '2026-01-01' + to_microseconds(range) AS at FROM range(150001) ORDER BY range")
    frame, _ = arrow_frame(client, sql)

    assert len(frame) == 150_001
    same_values(frame, json_frame(client, sql))


def test_query_reads_arrow_into_the_dataframe_and_marks_no_truncation(client: tradestore.Client) -> None:
    frame = client.query("SELECT 1::BIGINT AS one, 0.5::DECIMAL(18,8) AS half")

    assert frame["one"].tolist() == [1] and frame["half"].tolist() == [Decimal("0.5")]
    assert frame.attrs["truncated"] is None


def test_read_frame_not_arrow_raises_arrow_format_error() -> None:
    with pytest.raises(_arrow.ArrowFormatError):
        _arrow.read_frame(io.BytesIO(b"\xff\xff\xff\xff\x10\x00\x00\x00" + b"\x00" * 8))


def test_read_frame_cut_inside_a_message_raises_arrow_format_error(client: tradestore.Client) -> None:
    body = client.query_bytes("SELECT range AS i FROM range(10)", ARROW)

    with pytest.raises(_arrow.ArrowFormatError):
        _arrow.read_frame(io.BytesIO(body[: len(body) // 2 + 3]))


def test_query_past_the_row_limit_frame_says_truncated_by_rows(client: tradestore.Client) -> None:
    # The test servers allow 1,000,000 rows (Security:Query:MaxRows); the answer is streamed (8 MB) and ends with the
    # server's truncation mark.
    frame = client.query("SELECT range AS n FROM range(1000001)")

    assert len(frame) == 1_000_000
    assert frame["n"].iloc[-1] == 999_999
    assert frame.attrs["truncated"] == "rows"


# Fails at row 990,000, after more record batches than the server queues, so after the answer has started.
FAILS_LATE = "SELECT CASE WHEN range = 990000 THEN error('late failure') ELSE range END AS n FROM range(1000000)"


def test_query_failing_after_the_answer_started_raises_the_problem(client: tradestore.Client) -> None:
    with pytest.raises(tradestore.ProblemError) as problem:
        client.query(FAILS_LATE)

    assert (problem.value.type, problem.value.field) == ("urn:tradestore:problem:query-rejected", "sql")
    assert "late failure" in (problem.value.detail or "")


def test_query_without_pandas_failing_after_the_answer_started_raises_the_problem(client: tradestore.Client) -> None:
    with pytest.raises(tradestore.ProblemError) as problem:
        client.query(FAILS_LATE, as_frame=False)

    assert problem.value.type == "urn:tradestore:problem:query-rejected" and "late failure" in (problem.value.detail or "")


def test_query_after_a_streamed_failure_the_client_answers_the_next_query(client: tradestore.Client) -> None:
    with pytest.raises(tradestore.ProblemError):
        client.query(FAILS_LATE)

    assert client.query("SELECT 2::BIGINT AS two")["two"].tolist() == [2]
