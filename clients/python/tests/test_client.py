"""The Python client against a real TradeStore server."""

from __future__ import annotations

import re
import sys
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import tradestore
from tradestore import _transport


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def in_duckdb(client: tradestore.Client, *trade_ids: str) -> None:
    """SQL sees DuckDB, which trails the acknowledgement by the apply lag; history() answers only once DuckDB holds
    the trade's last acknowledged event, so after it a query sees the trade."""
    for trade_id in trade_ids:
        client.history(trade_id)


def test_lifecycle_every_command_answers_the_new_state_and_history_has_each_event(client: tradestore.Client) -> None:
    trade_id = new_id("LC")

    created = client.create_trade(trade_id, "ACC-PY", "AAPL", "buy", Decimal("100"), Decimal("189.25"), venue="XNAS")
    amended = client.amend(trade_id, created.version, price=Decimal("189.30"))
    filled = client.fill(trade_id, Decimal("40"), Decimal("189.29"))
    cancelled = client.cancel(trade_id)
    read = client.get_trade(trade_id)
    deleted = client.delete(trade_id, cancelled.version)
    history = client.history(trade_id)

    assert (created.status, created.version, created.venue) == ("new", 1, "XNAS")
    assert amended.price == Decimal("189.30")
    assert (filled.status, filled.filled_quantity, filled.average_fill_price) == ("partially_filled", Decimal("40"), Decimal("189.29"))
    assert read == cancelled
    assert deleted.status == "deleted"
    assert [e.type for e in history] == ["create", "amend", "fill", "cancel", "delete"]
    assert history[2].last_quantity == Decimal("40")
    assert all(e.idempotency_key and e.idempotency_key.startswith("tsp-") for e in history)
    assert created.executed_at.tzinfo is not None and created.executed_at.utcoffset() == timedelta(0)
    with pytest.raises(tradestore.NotFound) as missing:
        client.get_trade(trade_id)
    assert missing.value.status == 404


@pytest.mark.parametrize("text", ["0.00000001", "9999999999.99999999", "1234567890.12345678"])
def test_decimals_round_trip_exactly(client: tradestore.Client, text: str) -> None:
    trade_id = new_id("DEC")

    created = client.create_trade(trade_id, "ACC-DEC", "EURUSD", "sell", Decimal(text), Decimal(text))
    read = client.get_trade(trade_id)
    in_duckdb(client, trade_id)
    rows = client.query(f"SELECT quantity, price FROM current_trade_state WHERE trade_id = '{trade_id}'", as_frame=False)
    frame = client.query(f"SELECT quantity, price FROM current_trade_state WHERE trade_id = '{trade_id}'")

    assert (created.quantity, created.price) == (Decimal(text), Decimal(text))
    assert (read.quantity, read.price) == (Decimal(text), Decimal(text))
    assert rows[0]["quantity"] == Decimal(text) and isinstance(rows[0]["quantity"], Decimal)
    assert frame["price"][0] == Decimal(text) and isinstance(frame["price"][0], Decimal)


def test_float_quantity_refused_before_anything_is_sent(client: tradestore.Client) -> None:
    trade_id = new_id("FLT")

    with pytest.raises(TypeError, match="float"):
        client.create_trade(trade_id, "ACC-F", "AAPL", "buy", 0.1, Decimal("1"))  # type: ignore[arg-type]

    with pytest.raises(tradestore.NotFound):
        client.get_trade(trade_id)


def test_problem_becomes_problem_error_naming_the_field(client: tradestore.Client) -> None:
    with pytest.raises(tradestore.ProblemError) as problem:
        client.create_trade(new_id("BAD"), "ACC-BAD", "AAPL", "buy", Decimal("-1"), Decimal("10"))

    assert problem.value.status == 400
    assert problem.value.type == "urn:tradestore:problem:validation"
    assert problem.value.field == "quantity"
    assert problem.value.title and problem.value.detail


def test_stale_version_raises_version_conflict_with_current_version(client: tradestore.Client) -> None:
    trade_id = new_id("VC")
    client.create_trade(trade_id, "ACC-VC", "AAPL", "buy", 10, 1)
    client.amend(trade_id, 1, quantity=Decimal("11"))

    with pytest.raises(tradestore.VersionConflict) as conflict:
        client.amend(trade_id, 1, quantity=Decimal("12"))

    assert (conflict.value.status, conflict.value.current_version) == (409, 2)
    assert client.get_trade(trade_id).quantity == Decimal("11")


def test_batch_each_item_succeeds_or_fails_alone(client: tradestore.Client) -> None:
    trade_id = new_id("BA")

    result = client.batch([
        {"trade_id": trade_id, "account": "ACC-BA", "symbol": "MSFT", "side": "sell", "quantity": Decimal("5"), "price": Decimal("410")},
        {"type": "fill", "trade_id": trade_id, "quantity": Decimal("5"), "price": Decimal("410.5")},
        {"type": "amend", "trade_id": new_id("NONE"), "expected_version": 1, "price": Decimal("1")},
        {"trade_id": new_id("BA"), "account": "ACC-BA", "symbol": "MSFT", "side": "sell", "quantity": Decimal("5"), "price": "0.000000001"},
    ])

    assert (result.succeeded, result.failed) == (2, 2)
    assert result.results[1].trade is not None and result.results[1].trade.status == "filled"
    assert result.results[2].status == 404
    assert (result.results[3].status, result.results[3].problem["field"]) == (400, "price")


def test_retry_after_a_dropped_connection_writes_once(server_url: str, proxy_factory) -> None:
    proxy = proxy_factory("drop")
    trade_id = new_id("DROP")

    with tradestore.Client(proxy.url) as through_proxy:
        trade = through_proxy.create_trade(trade_id, "ACC-R", "AAPL", "buy", 1, 2)

    keys = proxy.header("Idempotency-Key")
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]
    assert trade.version == 1
    with tradestore.Client(server_url) as direct:
        history = direct.history(trade_id)
    assert [e.idempotency_key for e in history] == [keys[0]]


def test_retry_after_a_timeout_reuses_the_key_and_fills_once(server_url: str, client: tradestore.Client, proxy_factory) -> None:
    trade_id = new_id("SLOW")
    client.create_trade(trade_id, "ACC-R", "AAPL", "buy", 10, 2)
    proxy = proxy_factory("hold")

    with tradestore.Client(proxy.url, timeout=1.0) as through_proxy:
        trade = through_proxy.fill(trade_id, Decimal("4"), Decimal("2"))

    keys = proxy.header("Idempotency-Key")
    assert len(keys) >= 2 and keys[0] is not None and all(k == keys[0] for k in keys)
    assert trade.filled_quantity == Decimal("4")
    assert [e.type for e in client.history(trade_id)] == ["create", "fill"]


def test_every_attempt_times_out_raises_request_timeout_and_a_manual_retry_writes_once(client: tradestore.Client, proxy_factory) -> None:
    proxy = proxy_factory("hold", "hold")
    trade_id = new_id("TO")

    with tradestore.Client(proxy.url, timeout=1.0, max_retries=1) as through_proxy:
        with pytest.raises(tradestore.RequestTimeout):
            through_proxy.create_trade(trade_id, "ACC-R", "AAPL", "buy", 1, 2, idempotency_key=f"order-{trade_id}")
    with tradestore.Client(proxy.url) as patient:
        trade = patient.create_trade(trade_id, "ACC-R", "AAPL", "buy", 1, 2, idempotency_key=f"order-{trade_id}")

    assert trade.version == 1
    assert len(client.history(trade_id)) == 1


def test_busy_503_is_retried_after_retry_after(proxy_factory) -> None:
    proxy = proxy_factory("busy")
    trade_id = new_id("BUSY")

    with tradestore.Client(proxy.url) as through_proxy:
        trade = through_proxy.create_trade(trade_id, "ACC-R", "AAPL", "buy", 1, 2)

    keys = proxy.header("Idempotency-Key")
    assert trade.trade_id == trade_id
    assert len(keys) == 2 and keys[0] == keys[1]


def test_retry_after_as_an_http_date_is_waited_for(proxy_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    # RFC 9110 allows Retry-After as a date (a gateway's form): it was read as no Retry-After and the retry went after the
    # 125-250 ms back-off; the .NET client waits for the date.
    proxy = proxy_factory("busy-date")
    waits: list[float] = []
    monkeypatch.setattr(_transport.time, "sleep", waits.append)
    trade_id = new_id("BUSYDATE")

    with tradestore.Client(proxy.url, max_retry_delay=60) as through_proxy:
        trade = through_proxy.create_trade(trade_id, "ACC-R", "AAPL", "buy", 1, 2)

    assert trade.trade_id == trade_id
    assert len(waits) == 1 and 20 < waits[0] <= 30, waits


def test_redirect_307_is_followed_to_the_leader_with_body_and_key(client: tradestore.Client, proxy_factory) -> None:
    proxy = proxy_factory("redirect")
    trade_id = new_id("R307")

    with tradestore.Client(proxy.url) as through_proxy:
        trade = through_proxy.create_trade(trade_id, "ACC-R", "AAPL", "sell", 3, 4, idempotency_key=f"k-{trade_id}")

    assert (trade.trade_id, trade.quantity) == (trade_id, Decimal("3"))
    assert [e.idempotency_key for e in client.history(trade_id)] == [f"k-{trade_id}"]


def test_trades_pages_through_2500_trades_without_repeat_or_gap(server_url: str) -> None:
    account = new_id("PG")
    day = datetime(2026, 11, 27, tzinfo=timezone.utc)
    expected = []
    with tradestore.Client(server_url, page_size=300) as paging:
        for chunk in range(5):
            items = []
            for i in range(chunk * 500, chunk * 500 + 500):
                trade_id = f"{account}-{i:04d}"
                expected.append(trade_id)
                items.append({"trade_id": trade_id, "account": account, "symbol": "AAPL", "side": "buy", "quantity": 1, "price": 1,
                              "executed_at": day + timedelta(seconds=i % 97)})
            assert paging.batch(items).failed == 0

        listed = list(paging.trades(account=account, start=day, end=day + timedelta(days=1)))

    ids = [t.trade_id for t in listed]
    assert len(ids) == 2500
    assert sorted(ids) == sorted(expected)
    assert ids == [t.trade_id for t in sorted(listed, key=lambda t: (t.executed_at, t.trade_id))]


def test_history_pages_through_250_events_without_repeat_or_gap(server_url: str) -> None:
    # More events than the server's Api:DefaultPageSize (100): a client that did not follow nextCursor got 100 of 250.
    trade_id = new_id("HI")
    with tradestore.Client(server_url, page_size=60) as paging:
        items = [{"trade_id": trade_id, "account": "ACC-HI", "symbol": "AAPL", "side": "buy", "quantity": 1000, "price": 1}]
        items += [{"type": "amend", "trade_id": trade_id, "expected_version": v, "price": 1 + v} for v in range(1, 250)]
        assert paging.batch(items).failed == 0

        history = paging.history(trade_id)
        streamed = [e.version for e in paging.history_events(trade_id)]
        with pytest.raises(tradestore.NotFound):
            paging.history(new_id("HI"))
        with pytest.raises(ValueError):
            paging.history_events("..")  # checked at the call, not at the first next()

    assert [e.version for e in history] == list(range(1, 251))
    assert history[-1].trade.price == Decimal("250")
    assert streamed == list(range(1, 251))


def test_history_page_size_over_the_servers_max_page_size_raises_naming_page_size(client: tradestore.Client, server_url: str) -> None:
    # 102 events: more than the server's first page (Api:DefaultPageSize, 100), asked for without limit.
    trade_id = new_id("HPS")
    items = [{"trade_id": trade_id, "account": "ACC-HPS", "symbol": "AAPL", "side": "buy", "quantity": 1000, "price": 1}]
    items += [{"type": "amend", "trade_id": trade_id, "expected_version": v, "price": 1 + v} for v in range(1, 102)]
    assert client.batch(items).failed == 0
    with tradestore.Client(server_url, page_size=5000) as paging, pytest.raises(tradestore.ProblemError) as problem:
        paging.history(trade_id)

    assert (problem.value.status, problem.value.field) == (400, "page_size")


def test_threads_sharing_a_client_each_get_the_answer_to_their_own_request(server_url: str) -> None:
    # An http.client connection shared by threads let two requests go out on one socket: a thread read another's answer
    # (create_trade("X-3-10") answered with trade X-1-5) or failed with CannotSendRequest, retried into InDoubt.
    account = new_id("TH")
    threads, rounds = 16, 20
    start = threading.Barrier(threads)
    mismatched: list[tuple[str, str]] = []
    failures: list[BaseException] = []

    def work(index: int) -> None:
        start.wait()
        for round_ in range(rounds):
            trade_id = f"{account}-{index}-{round_}"
            try:
                answers = [shared.create_trade(trade_id, account, "AAPL", "buy", 1, 1).trade_id, shared.get_trade(trade_id).trade_id,
                           shared.history(trade_id)[0].trade.trade_id]
            except BaseException as error:  # noqa: BLE001 - any failure of a shared client is the finding
                failures.append(error)
                continue
            mismatched.extend((trade_id, answer) for answer in answers if answer != trade_id)

    with tradestore.Client(server_url, max_retries=1) as shared:
        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        listed = [t.trade_id for t in shared.trades(account=account)]

    assert failures == []
    assert mismatched == []
    assert sorted(listed) == sorted(f"{account}-{i}-{r}" for i in range(threads) for r in range(rounds))


def test_positions_by_account(client: tradestore.Client) -> None:
    account = new_id("POS")
    for side, quantity, price in (("buy", 10, 100), ("buy", 30, 104), ("sell", 15, 110)):
        trade = client.create_trade(new_id("P"), account, "IBM", side, quantity, price)
        client.fill(trade.trade_id, quantity, price)

    (position,) = client.positions(account)

    assert (position.symbol, position.net_quantity, position.bought_quantity, position.bought_notional) == (
        "IBM", Decimal("25"), Decimal("40"), Decimal("4120"))
    assert position.average_price == Decimal("103")


def test_positions_page_through_250_symbols_and_every_account_without_repeat_or_gap(server_url: str) -> None:
    # More positions than the server's Api:DefaultPageSize (100): a client that did not follow nextCursor got 100 of 250.
    account = new_id("PP")
    symbols = [f"S{s:03d}" for s in range(250)]
    with tradestore.Client(server_url, page_size=60) as paging:
        items: list[dict[str, object]] = []
        for symbol in symbols:
            items.append({"trade_id": f"{account}-{symbol}", "account": account, "symbol": symbol, "side": "buy", "quantity": 10, "price": 1})
            items.append({"type": "fill", "trade_id": f"{account}-{symbol}", "quantity": 4, "price": 2})
        assert paging.batch(items).failed == 0

        positions = paging.positions(account)
        every_account = paging.positions()

    assert [p.symbol for p in positions] == symbols
    assert {(p.account, p.net_quantity, p.bought_notional) for p in positions} == {(account, Decimal("4"), Decimal("8"))}
    keys = [(p.account, p.symbol) for p in every_account]
    assert keys == sorted(keys, key=lambda k: (k[0].encode(), k[1].encode()))
    assert len(keys) == len(set(keys))
    assert [p for p in every_account if p.account == account] == positions
    with tradestore.Client(server_url, page_size=5000) as too_big, pytest.raises(tradestore.ProblemError) as problem:
        too_big.positions(account)
    assert (problem.value.status, problem.value.field) == (400, "page_size")


def test_query_dataframe_has_decimal_objects_utc_times_and_integers(client: tradestore.Client) -> None:
    pd = pytest.importorskip("pandas")
    account = new_id("QDF")
    executed = datetime(2026, 11, 30, 9, 30, 0, 123456, tzinfo=timezone.utc)
    client.create_trade(f"{account}-1", account, "AAPL", "buy", Decimal("7.5"), Decimal("0.00000001"), executed_at=executed, venue="a,b")
    client.create_trade(f"{account}-2", account, "MSFT", "sell", Decimal("2"), Decimal("3"), executed_at=executed)
    in_duckdb(client, f"{account}-1", f"{account}-2")

    frame = client.query(f"SELECT trade_id, quantity, price, version, executed_at, venue, 1.5::DOUBLE AS ratio "
                         f"FROM current_trade_state WHERE account = '{account}' ORDER BY trade_id")

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["trade_id", "quantity", "price", "version", "executed_at", "venue", "ratio"]
    assert frame["quantity"].dtype == object and all(isinstance(v, Decimal) for v in frame["quantity"])
    assert list(frame["price"]) == [Decimal("0.00000001"), Decimal("3")]
    assert str(frame["executed_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["executed_at"][0] == pd.Timestamp(executed)
    assert str(frame["version"].dtype) == "int64"
    assert str(frame["ratio"].dtype) == "float64"
    assert frame["venue"][0] == "a,b" and frame["venue"][1] is None


def test_query_without_pandas_returns_typed_dicts(client: tradestore.Client) -> None:
    trade_id = new_id("QD")
    client.create_trade(trade_id, "ACC-QD", "AAPL", "buy", Decimal("7.5"), Decimal("2"))
    in_duckdb(client, trade_id)

    rows = client.query(f"SELECT trade_id, quantity, version, executed_at FROM current_trade_state WHERE trade_id = '{trade_id}'", as_frame=False)

    assert rows == [{"trade_id": trade_id, "quantity": Decimal("7.5"), "version": 1, "executed_at": rows[0]["executed_at"]}]
    assert isinstance(rows[0]["executed_at"], datetime) and rows[0]["executed_at"].utcoffset() == timedelta(0)


def test_query_rows_applied_seq_covers_a_create_before_it(client: tradestore.Client) -> None:
    trade = client.create_trade(new_id("QAS"), "ACC-QAS", "AAPL", "buy", Decimal("1"), Decimal("2"))

    rows = client.query(f"SELECT version FROM current_trade_state WHERE trade_id = '{trade.trade_id}'", as_frame=False)

    assert rows.applied_seq is not None and rows.applied_seq >= trade.last_seq
    assert rows == [{"version": 1}]


def test_query_frame_applied_seq_covers_a_create_before_it(client: tradestore.Client) -> None:
    pytest.importorskip("pandas")
    trade = client.create_trade(new_id("QAF"), "ACC-QAF", "AAPL", "buy", Decimal("1"), Decimal("2"))

    frame = client.query(f"SELECT version FROM current_trade_state WHERE trade_id = '{trade.trade_id}'")

    assert frame.attrs["applied_seq"] is not None and frame.attrs["applied_seq"] >= trade.last_seq
    assert list(frame["version"]) == [1]


def test_query_not_a_select_raises_problem_naming_sql(client: tradestore.Client) -> None:
    with pytest.raises(tradestore.ProblemError) as problem:
        client.query("DELETE FROM trade_events")

    assert (problem.value.type, problem.value.field) == ("urn:tradestore:problem:query-rejected", "sql")


def test_query_bytes_arrow_stream_starts_with_the_ipc_continuation_marker(client: tradestore.Client) -> None:
    body = client.query_bytes("SELECT 1 AS one", "application/vnd.apache.arrow.stream")

    assert body[:4] == b"\xff\xff\xff\xff"


def test_bad_base_url_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match="base_url"):
        tradestore.Client("localhost:5080")


@pytest.mark.parametrize(("option", "value"), [
    ("max_retry_delay", -1), ("max_retry_delay", float("nan")), ("timeout", float("nan")), ("timeout", float("inf")), ("timeout", 0),
])
def test_bad_timing_option_refused_naming_it(option: str, value: float) -> None:
    # Before: a negative or NaN max_retry_delay and a NaN timeout were taken (the .NET client refuses a negative delay).
    with pytest.raises(ValueError, match=f"^{option}: "):
        tradestore.Client("http://127.0.0.1:5080", **{option: value})


@pytest.mark.parametrize(("option", "value", "error"), [
    # Before: taken here, then every call failed with "OverflowError: timestamp too large to convert to C _PyTime_t".
    ("timeout", 1e10, ValueError),
    # Before: "TypeError: '>' not supported between instances of 'NoneType' and 'int'" (or 'str'), naming nothing.
    ("timeout", None, TypeError), ("timeout", "15", TypeError), ("timeout", True, TypeError),
    ("max_retry_delay", None, TypeError), ("max_retries", "3", TypeError), ("max_retries", 2.5, TypeError),
    ("page_size", "500", TypeError), ("page_size", 500.0, TypeError),
])
def test_option_of_a_wrong_type_or_too_large_refused_naming_it(option: str, value: object, error: type) -> None:
    with pytest.raises(error, match=f"^{option}: "):
        tradestore.Client("http://127.0.0.1:5080", **{option: value})


def test_timeout_just_above_the_limit_is_refused_with_the_limit_it_passed() -> None:
    # Before: 2147483.9 was refused as "at most 2147484", a limit the value is below (the message rounded 2147483.647).
    with pytest.raises(ValueError, match=r"^timeout: ") as refused:
        tradestore.Client("http://127.0.0.1:5080", timeout=2_147_483.9)

    limit = float(re.search(r"at most ([0-9.]+)", str(refused.value)).group(1))
    assert limit == 2_147_483.647 and 2_147_483.9 > limit
    assert tradestore.Client("http://127.0.0.1:5080", timeout=2_147_483.647) is not None


def test_query_without_pandas_nested_values_and_wide_decimals_keep_their_shape_and_digits(client: tradestore.Client) -> None:
    rows = client.query("SELECT [1, 2] AS l, {'a': 1, 'b': 'x'} AS st, '12345678901234567890.123456789012345678'::DECIMAL(38,18) AS wide, "
                        "0.00000001::DECIMAL(18,8) AS small", as_frame=False)

    assert rows == [{"l": [1, 2], "st": {"a": 1, "b": "x"}, "wide": Decimal("12345678901234567890.123456789012345678"),
                     "small": Decimal("0.00000001")}]


def test_delete_without_expected_version_deletes_whatever_the_version(client: tradestore.Client) -> None:
    trade_id = new_id("DU")
    client.create_trade(trade_id, "ACC-DU", "AAPL", "buy", 10, 2)
    client.fill(trade_id, 4, 2)

    deleted = client.delete(trade_id)

    assert (deleted.status, deleted.version) == ("deleted", 3)
    with pytest.raises(tradestore.NotFound):
        client.get_trade(trade_id)


def test_delete_with_a_stale_expected_version_raises_version_conflict_and_keeps_the_trade(client: tradestore.Client) -> None:
    trade_id = new_id("DS")
    client.create_trade(trade_id, "ACC-DS", "AAPL", "buy", 10, 2)
    client.fill(trade_id, 4, 2)

    with pytest.raises(tradestore.VersionConflict) as conflict:
        client.delete(trade_id, 1)

    assert conflict.value.current_version == 2
    assert client.get_trade(trade_id).status == "partially_filled"


def test_query_rows_are_a_list_with_columns_types_and_no_truncation(client: tradestore.Client) -> None:
    rows = client.query("SELECT 1::BIGINT AS one, 0.5::DECIMAL(18,8) AS half", as_frame=False)
    empty = client.query("SELECT 1::BIGINT AS one, 'x' AS s WHERE false", as_frame=False)

    assert isinstance(rows, list) and isinstance(rows, tradestore.Rows)
    assert rows == [{"one": 1, "half": Decimal("0.5")}]
    assert (rows.columns, rows.types, rows.truncated) == (["one", "half"], ["BIGINT", "DECIMAL(18,8)"], None)
    assert (list(empty), empty.columns, empty.truncated) == ([], ["one", "s"], None)


def test_query_rows_past_the_row_limit_say_truncated_by_rows(client: tradestore.Client) -> None:
    # The test servers allow 1,000,000 rows (Security:Query:MaxRows).
    rows = client.query("SELECT range AS n FROM range(1000001)", as_frame=False)

    assert len(rows) == 1_000_000 and rows[-1] == {"n": 999_999}
    assert rows.truncated == "rows"


def test_query_rows_past_the_byte_limit_say_truncated_by_bytes(client: tradestore.Client) -> None:
    # 20,000 rows of 1,000 characters pass the default Security:Query:MaxResultBytes (16 MiB).
    rows = client.query(f"SELECT range AS n, '{'x' * 1000}' AS pad FROM range(20000)", as_frame=False)

    assert 0 < len(rows) < 20_000
    assert rows.truncated == "bytes"


def test_query_without_pandas_lists_of_decimals_are_lists_of_decimals(client: tradestore.Client) -> None:
    trade_id = new_id("LD")
    client.create_trade(trade_id, "ACC-LD", "AAPL", "buy", Decimal("10"), Decimal("189.25"))
    client.fill(trade_id, Decimal("4"), Decimal("189.5"))
    in_duckdb(client, trade_id)

    rows = client.query(f"SELECT [1.5::DECIMAL(18,8)] AS ld, list(price ORDER BY seq) AS prices, 2.5::DECIMAL(18,8) AS d "
                        f"FROM trade_events WHERE trade_id = '{trade_id}'", as_frame=False)

    assert rows.types == ["DECIMAL(18,8)[]", "DECIMAL(18,8)[]", "DECIMAL(18,8)"]
    assert rows == [{"ld": [Decimal("1.5")], "prices": [Decimal("189.25"), Decimal("189.25")], "d": Decimal("2.5")}]
    assert all(isinstance(v, Decimal) for v in rows[0]["prices"])


def test_query_frame_lists_of_decimals_are_json_text_like_other_lists(client: tradestore.Client) -> None:
    pytest.importorskip("pandas")

    frame = client.query("SELECT [1.5::DECIMAL(18,8), 189.25::DECIMAL(18,8)] AS ld, [1, 2] AS l, 2.5::DECIMAL(18,8) AS d")

    assert frame["ld"].tolist() == ["[1.50000000,189.25000000]"]
    assert frame["l"].tolist() == ["[1,2]"]
    assert frame["d"].tolist() == [Decimal("2.5")]


@pytest.mark.parametrize(("type_name", "expected"), [
    ("DECIMAL(18,8)", "decimal"), ("DECIMAL(38,16)", "decimal"), ("DECIMAL(18,8)[]", "text"), ("DECIMAL(18,8)[2]", "text"),
    ("STRUCT(a DECIMAL(18,8))", "text"), ("TIMESTAMP WITH TIME ZONE", "time"), ("TIMESTAMP[]", "text"), ("DATE", "date"),
    ("UBIGINT", "int"), ("HUGEINT", "int"), ("UHUGEINT", "int"),
])
def test_column_kind_is_decided_by_the_whole_type_name(type_name: str, expected: str) -> None:
    from tradestore import _query

    assert _query.kind(type_name) == expected


def test_query_without_numpy_returns_rows_with_their_truncation(client: tradestore.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # pandas cannot work without numpy: the client reads the JSON answer into Rows, which say their truncation (a
    # DataFrame path without numpy used to ask for CSV, whose frame carried no attrs["truncated"], then fail on numpy).
    monkeypatch.setitem(sys.modules, "numpy", None)

    rows = client.query("SELECT range AS n FROM range(1000001)")

    assert isinstance(rows, tradestore.Rows)
    assert len(rows) == 1_000_000 and rows.truncated == "rows"


def test_query_without_pandas_a_dataframe_attribute_says_why_it_is_rows(client: tradestore.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/clients.md's first query prints frame.dtypes: without pandas that was "'Rows' object has no attribute 'dtypes'".
    monkeypatch.setitem(sys.modules, "pandas", None)

    rows = client.query("SELECT 1 AS one")

    with pytest.raises(AttributeError, match=r"'dtypes'.*not a pandas DataFrame.*python3-pandas"):
        rows.dtypes  # noqa: B018
    with pytest.raises(AttributeError, match=r"'attrs'.*as_frame=False was passed"):
        client.query("SELECT 1 AS one", as_frame=False).attrs  # noqa: B018
    assert not hasattr(rows, "iloc") and getattr(rows, "loc", None) is None
    assert rows == [{"one": 1}] and rows.columns == ["one"]
    import copy
    import pickle
    assert pickle.loads(pickle.dumps(rows)) == rows and copy.copy(rows) == rows


def test_query_as_frame_without_pandas_raises_import_error_before_sending(refusing_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)

    # The address refuses connections: an attempt to send would raise a connection error, not ImportError.
    with tradestore.Client(refusing_url, max_retries=0) as client, pytest.raises(ImportError, match="python3-pandas"):
        client.query("SELECT 1 AS one", as_frame=True)


def test_query_rows_128_bit_and_unsigned_integers_are_ints_with_every_digit(client: tradestore.Client) -> None:
    # The same values as the .NET client's QueryValueTests (ulong, Int128, UInt128 there).
    rows = client.query("SELECT 18446744073709551615::UBIGINT AS ubig, '-170141183460469231731687303715884105728'::HUGEINT AS huge, "
                        "340282366920938463463374607431768211455::UHUGEINT AS uhuge", as_frame=False)

    assert rows == [{"ubig": 2**64 - 1, "huge": -2**127, "uhuge": 2**128 - 1}]
    assert rows.types == ["UBIGINT", "HUGEINT", "UHUGEINT"]


def test_query_frame_unsigned_integers_are_uint64_with_every_digit(client: tradestore.Client) -> None:
    # The Arrow answer carries unsigned integers natively (they were the text of their digits); UBIGINT's upper half
    # does not fit int64, so every unsigned column is uint64 (UInt64 with NULLs). HUGEINT stays text (39 digits).
    pytest.importorskip("pandas")

    frame = client.query("SELECT 255::UTINYINT AS u8, 65535::USMALLINT AS u16, 4294967295::UINTEGER AS u32, "
                         "n::UBIGINT AS u64, CASE WHEN n = 1 THEN NULL ELSE n END::UBIGINT AS u64n, -1::TINYINT AS i8 "
                         "FROM (VALUES (18446744073709551615), (1)) t(n) ORDER BY n DESC")

    assert [str(frame[c].dtype) for c in ("u8", "u16", "u32", "u64", "u64n", "i8")] == ["uint64", "uint64", "uint64", "uint64", "UInt64", "int64"]
    assert frame["u64"].tolist() == [2**64 - 1, 1]
    assert frame["u8"].tolist() == [255, 255] and frame["u32"].tolist() == [2**32 - 1, 2**32 - 1]
    assert frame["u64n"].iloc[0] == 2**64 - 1 and frame["u64n"].isna().tolist() == [False, True]
    assert frame["i8"].tolist() == [-1, -1]


@pytest.mark.parametrize("key", ["bad\nkey", "ключ", "tab\tkey", "", "k" * 129, " padded", "padded "])
def test_bad_idempotency_key_raises_value_error_naming_it_and_sends_nothing(client: tradestore.Client, key: str) -> None:
    # A newline or non-Latin-1 text raised http.client's ValueError / UnicodeEncodeError; "" silently got a fresh key.
    trade_id = new_id("IK")

    with pytest.raises(ValueError, match="^idempotency_key: "):
        client.create_trade(trade_id, "ACC-IK", "AAPL", "buy", 1, 1, idempotency_key=key)

    with pytest.raises(tradestore.NotFound):
        client.get_trade(trade_id)


def test_idempotency_key_of_128_printable_ascii_characters_is_sent_and_replayed(client: tradestore.Client) -> None:
    trade_id = new_id("IKOK")
    key = ("order 17/~!:" + uuid.uuid4().hex).ljust(128, "x")

    first = client.create_trade(trade_id, "ACC-IK", "AAPL", "buy", 1, 1, idempotency_key=key)
    again = client.create_trade(trade_id, "ACC-IK", "AAPL", "buy", 1, 1, idempotency_key=key)

    assert (again.version, again.last_seq) == (first.version, first.last_seq)
    assert client.history(trade_id)[0].idempotency_key == key


@pytest.mark.parametrize("trade_id", [".", "..", "T\x00"])
def test_path_trade_id_the_server_never_reads_raises_value_error_naming_trade_id(client: tradestore.Client, trade_id: str) -> None:
    # The server answered 404 unknown-endpoint: "/v1/trades/.." is "/v1/" once the URL is normalised; and a bare 400
    # without detail to a NUL, which its HTTP layer refuses in a path before TradeStore reads the request.
    calls = [
        lambda: client.get_trade(trade_id),
        lambda: client.history(trade_id),
        lambda: client.amend(trade_id, 1, quantity=2),
        lambda: client.fill(trade_id, 1, 1),
        lambda: client.cancel(trade_id),
        lambda: client.delete(trade_id),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="^trade_id: "):
            call()


def test_page_size_over_the_servers_max_page_size_raises_naming_page_size(server_url: str) -> None:
    # The server's default Api:MaxPageSize is 1000; its 400 named "limit", which the caller never set.
    with tradestore.Client(server_url, page_size=5000) as paging, pytest.raises(tradestore.ProblemError) as problem:
        next(iter(paging.trades()), None)

    assert (problem.value.status, problem.value.field) == (400, "page_size")
    assert "page_size 5000 is more than this server allows" in str(problem.value)
    assert "Api:MaxPageSize" in str(problem.value)
    assert isinstance(problem.value.__cause__, tradestore.ProblemError) and problem.value.__cause__.field == "limit"


def test_query_rows_keep_every_column_when_names_repeat_suffixed_as_duckdb_does(client: tradestore.Client) -> None:
    rows = client.query("SELECT 1 AS x, 2 AS x, 3 AS x_1, 4 AS X, 'a' AS s, 'b' AS s", as_frame=False)
    wrapped = client.query("SELECT * FROM (SELECT 1 AS x, 2 AS x, 3 AS x_1, 4 AS X, 'a' AS s, 'b' AS s)", as_frame=False)

    assert rows == [{"x": 1, "x_1": 2, "x_1_1": 3, "X_2": 4, "s": "a", "s_1": "b"}]
    assert rows.columns == ["x", "x_1", "x_1_1", "X_2", "s", "s_1"] == wrapped.columns   # DuckDB's own names for them
    assert rows.types == ["INTEGER", "INTEGER", "INTEGER", "INTEGER", "VARCHAR", "VARCHAR"]


@pytest.mark.parametrize("key", ["ts_abc_def\n", " ts_abc_def", "ts_abc def", "ts_ключ"])
def test_api_key_http_cannot_carry_is_refused_naming_it_without_showing_it(server_url: str, key: str) -> None:
    # A trailing newline raised http.client's "Invalid header value b'Bearer ts_…\n'" at the first request: the key in the
    # exception text; non-Latin-1 text a UnicodeEncodeError.
    with pytest.raises(ValueError, match="^api_key: ") as refused:
        tradestore.Client(server_url, api_key=key)

    assert key.strip() not in str(refused.value)


def test_empty_api_key_is_no_key(server_url: str) -> None:
    with tradestore.Client(server_url, api_key="") as keyless:
        assert keyless.positions("ACC-NONE") == []


@pytest.mark.parametrize(("call", "error", "argument"), [
    (lambda c, t: c.create_trade(t, "ACC-N", "AAPL", "buy", 0.1, 1), TypeError, "quantity"),
    (lambda c, t: c.create_trade(t, "ACC-N", "AAPL", "buy", 1, 2.5), TypeError, "price"),
    (lambda c, t: c.create_trade(t, "ACC-N", "AAPL", "buy", Decimal("NaN"), 1), ValueError, "quantity"),
    (lambda c, t: c.create_trade(t, "ACC-N", "AAPL", "buy", 1, 1, executed_at=datetime(2026, 1, 2)), ValueError, "executed_at"),
    (lambda c, t: c.create_trade(t, "ACC-N", "AAPL", "buy", 1, 1, executed_at=date(2026, 1, 2)), TypeError, "executed_at"),
    (lambda c, t: list(c.trades(account=t, start=date(2026, 1, 2))), TypeError, "start"),
    (lambda c, t: list(c.trades(account=t, end=datetime(2026, 1, 2))), ValueError, "end"),
    (lambda c, t: list(c.trades(account=t, min_seq="5")), TypeError, "min_seq"),
    # Before: quote()'s "quote_from_bytes() expected bytes" and json's "Object of type bytes is not JSON serializable".
    (lambda c, t: c.fill(int(t.rsplit("-", 1)[1], 16), 1, 1), TypeError, "trade_id"),
    (lambda c, t: c.create_trade(t, "ACC-N", "AAPL", "buy", 1, 1, venue=b"XNAS"), TypeError, "venue"),
])
def test_bad_argument_raises_naming_it_before_anything_is_sent(client: tradestore.Client, call, error: type, argument: str) -> None:
    # Before: "quantities and prices must be …", "not a finite decimal", "times must be timezone-aware" named no argument;
    # a date start and a str min_seq were sent, and the server's 400 named "from" / "minSeq".
    trade_id = new_id("NAMED")

    with pytest.raises(error, match=f"^{argument}: "):
        call(client, trade_id)

    with pytest.raises(tradestore.NotFound):
        client.get_trade(trade_id)


def test_numpy_integers_from_a_dataframe_are_sent_as_exact_ints(client: tradestore.Client) -> None:
    # A quantity or version read from an int64 column is numpy.int64, not int: json refused it ("Object of type int64 is
    # not JSON serializable", no argument named). numpy.float64 stays refused as a float.
    np = pytest.importorskip("numpy")
    trade_id = new_id("NP")

    created = client.create_trade(trade_id, "ACC-N", "AAPL", "buy", np.int64(7), np.int32(3))
    filled = client.fill(trade_id, np.int64(2), 3, expected_version=np.int64(created.version))

    assert (created.quantity, created.price, filled.filled_quantity, filled.version) == (Decimal(7), Decimal(3), Decimal(2), 2)
    with pytest.raises(TypeError, match="^quantity: "):
        client.fill(trade_id, np.float64(1), 3)


def test_times_before_year_1000_are_sent_with_four_digit_years(client: tradestore.Client) -> None:
    # Before: strftime's %Y (glibc) wrote year 1 as "1", so trades(start=datetime.min...) - "from the beginning" - was a
    # 400: "from must be an ISO 8601 time ...; got '1-01-01T00:00:00.000000Z'".
    account = f"ACC-Y{uuid.uuid4().hex[:8]}"
    trade = client.create_trade(f"Y-{uuid.uuid4().hex[:8]}", account, "AAPL", "buy", 1, 1)

    assert [t.trade_id for t in client.trades(account=account, start=datetime.min.replace(tzinfo=timezone.utc))] == [trade.trade_id]
    assert [t.trade_id for t in client.trades(account=account, end=datetime(999, 1, 1, tzinfo=timezone.utc))] == []


def test_trades_end_before_start_names_the_argument_end(client: tradestore.Client) -> None:
    # Before: field 'to' and "to (...) is before from (...)", the query parameters the client sends, not the arguments
    # start and end the caller wrote (page_size over the server's limit was already restated this way).
    with pytest.raises(tradestore.ProblemError) as problem:
        list(client.trades(start=datetime(2026, 2, 1, tzinfo=timezone.utc), end=datetime(2026, 1, 1, tzinfo=timezone.utc)))

    assert (problem.value.status, problem.value.field) == (400, "end")
    assert str(problem.value).startswith("400 Invalid request: end (sent as 'to'; from is start, to is end): to (2026-01-01")
    assert problem.value.__cause__.field == "to"
