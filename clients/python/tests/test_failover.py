"""What a caller sees while a cluster changes leader, shown with real sockets against a real ``tradestore serve``: a
proxy that relays a write and dies before the answer leaves (a leader killed right after applying), a follower's 307
to a leader that is gone, the 503s of an election, and ``min_seq`` reads."""

from __future__ import annotations

import errno
import select
import uuid
from decimal import Decimal

import pytest

import tradestore


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def test_applied_then_the_node_dies_raises_in_doubt_naming_the_key_and_a_retry_with_it_replays(
        client: tradestore.Client, proxy_factory) -> None:
    proxy = proxy_factory("drop-stop")
    trade_id = _id("DIE")
    with tradestore.Client(proxy.url, max_retries=2, max_retry_delay=0) as through_proxy:
        with pytest.raises(tradestore.InDoubt) as raised:
            through_proxy.create_trade(trade_id, "ACC-F", "AAPL", "buy", 1, 2, idempotency_key=f"k-{trade_id}")
    assert raised.value.idempotency_key == f"k-{trade_id}"
    assert f"k-{trade_id}" in str(raised.value) and "may have been applied" in str(raised.value)
    assert isinstance(raised.value, tradestore.RequestTimeout)             # what "applied or not, unknown" was before
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)      # the last attempt alone would say "not applied"
    again = client.create_trade(trade_id, "ACC-F", "AAPL", "buy", 1, 2, idempotency_key=f"k-{trade_id}")
    assert again.version == 1
    assert [e.idempotency_key for e in client.history(trade_id)] == [f"k-{trade_id}"]


def test_refused_on_every_attempt_stays_connection_refused(refusing_url: str) -> None:
    with tradestore.Client(refusing_url, max_retries=1, max_retry_delay=0) as nowhere:
        with pytest.raises(ConnectionRefusedError) as raised:
            nowhere.create_trade(_id("NONE"), "ACC-F", "AAPL", "buy", 1, 2)
    assert not isinstance(raised.value, tradestore.RequestTimeout)
    assert raised.value.errno == errno.ECONNREFUSED
    assert f"(POST {refusing_url}/v1/trades, 2 attempt(s))" in str(raised.value)   # was only "[Errno 111] Connection refused"


def test_a_follower_redirecting_to_a_dead_leader_is_asked_again_with_body_and_key(
        client: tradestore.Client, proxy_factory, refusing_url: str) -> None:
    follower = proxy_factory("redirect", redirect_to=refusing_url)
    trade_id = _id("FO")
    with tradestore.Client(follower.url, max_retry_delay=0) as through_follower:
        trade = through_follower.create_trade(trade_id, "ACC-F", "AAPL", "sell", 3, 4, idempotency_key=f"k-{trade_id}")
    assert (trade.trade_id, trade.quantity, trade.version) == (trade_id, Decimal("3"), 1)
    assert follower.header("Idempotency-Key") == [f"k-{trade_id}", f"k-{trade_id}"]   # the 307'd attempt, then the retry
    assert all(head.startswith("POST /v1/trades ") for head in follower.heads)
    assert [e.idempotency_key for e in client.history(trade_id)] == [f"k-{trade_id}"]


def test_leadership_lost_is_in_doubt_and_no_leader_is_not(proxy_factory) -> None:
    proxy = proxy_factory("leadership-lost", "no-leader")
    with tradestore.Client(proxy.url, max_retries=0) as through_proxy:
        with pytest.raises(tradestore.ProblemError) as lost:
            through_proxy.create_trade(_id("LL"), "ACC-F", "AAPL", "buy", 1, 2)
        with pytest.raises(tradestore.ProblemError) as no_leader:
            through_proxy.create_trade(_id("NL"), "ACC-F", "AAPL", "buy", 1, 2)
    assert (lost.value.status, lost.value.type, lost.value.in_doubt) == (503, "urn:tradestore:problem:leadership-lost", True)
    assert (no_leader.value.type, no_leader.value.in_doubt) == ("urn:tradestore:problem:no-leader", False)


def test_answer_lost_then_no_leader_to_the_end_is_in_doubt(client: tradestore.Client, proxy_factory) -> None:
    proxy = proxy_factory("drop", "no-leader")
    trade_id = _id("LOST")
    with tradestore.Client(proxy.url, max_retries=1, max_retry_delay=0) as through_proxy:
        with pytest.raises(tradestore.ProblemError) as raised:
            through_proxy.create_trade(trade_id, "ACC-F", "AAPL", "buy", 1, 2)
    assert raised.value.type == "urn:tradestore:problem:no-leader"   # speaks for the last attempt only
    assert raised.value.in_doubt                                      # the first one was applied
    assert "may have been applied" in str(raised.value)
    assert len(client.history(trade_id)) == 1


@pytest.mark.parametrize(("type_", "status", "in_doubt"), [
    ("urn:tradestore:problem:leadership-lost", 503, True),
    ("urn:tradestore:problem:replication-unavailable", 503, True),
    ("urn:tradestore:problem:internal", 500, True),
    ("about:blank", 504, True),
    ("about:blank", 502, True),
    ("urn:tradestore:problem:no-leader", 503, False),
    ("urn:tradestore:problem:busy", 503, False),
    ("urn:tradestore:problem:seq-not-reached", 503, False),
    ("urn:tradestore:problem:version-conflict", 409, False),
    ("about:blank", 503, False),
])
def test_in_doubt_only_for_problems_after_which_the_write_may_exist(type_: str, status: int, in_doubt: bool) -> None:
    assert tradestore.ProblemError.from_problem({"type": type_, "title": "t", "status": status}, status).in_doubt is in_doubt


def test_defaults_retry_longer_than_a_failover_with_a_bounded_attempt(server_url: str) -> None:
    with tradestore.Client(server_url) as default:
        assert (default._transport._max_retries, default._transport._timeout) == (8, 15.0)


def test_reads_with_the_writes_last_seq_see_the_write(client: tradestore.Client) -> None:
    trade_id = _id("RYW")
    account = f"ACC-{trade_id}"
    client.create_trade(trade_id, account, "AAPL", "buy", 10, 2)
    filled = client.fill(trade_id, 4, 2)
    assert client.get_trade(trade_id, min_seq=filled.last_seq).filled_quantity == Decimal("4")
    assert client.history(trade_id, min_seq=filled.last_seq)[-1].seq == filled.last_seq
    assert [t.filled_quantity for t in client.trades(account=account, min_seq=filled.last_seq)] == [Decimal("4")]
    assert [p.net_quantity for p in client.positions(account, min_seq=filled.last_seq)] == [Decimal("4")]


def test_reads_with_a_seq_the_node_does_not_hold_answer_seq_not_reached(server_url: str, client: tradestore.Client) -> None:
    trade = client.create_trade(_id("RYW2"), "ACC-RYW", "AAPL", "buy", 1, 2)
    ahead = trade.last_seq + 1_000_000
    with tradestore.Client(server_url, max_retries=0) as impatient:
        for read in (lambda: impatient.get_trade(trade.trade_id, min_seq=ahead),
                     lambda: impatient.history(trade.trade_id, min_seq=ahead),
                     lambda: list(impatient.trades(account="ACC-RYW", min_seq=ahead)),
                     lambda: impatient.positions("ACC-RYW", min_seq=ahead)):
            with pytest.raises(tradestore.ProblemError) as raised:
                read()
            assert (raised.value.status, raised.value.type, raised.value.field) == (503, "urn:tradestore:problem:seq-not-reached", "minSeq")
            assert not raised.value.in_doubt


def test_a_batch_in_doubt_carries_its_items_with_their_keys_and_sending_them_again_applies_once(
        client: tradestore.Client, proxy_factory) -> None:
    trade_id = _id("BDOUBT")
    client.create_trade(trade_id, "ACC-F", "AAPL", "buy", 10, 100)
    items = [{"type": "fill", "trade_id": trade_id, "quantity": 3, "price": Decimal("100")}]
    proxy = proxy_factory("drop-stop")
    with tradestore.Client(proxy.url, max_retries=1, max_retry_delay=0) as through_proxy:
        with pytest.raises(tradestore.InDoubt) as raised:
            through_proxy.batch(items)
    assert raised.value.idempotency_key is None and raised.value.in_doubt
    assert "client.batch(error.items)" in str(raised.value)
    assert items == [{"type": "fill", "trade_id": trade_id, "quantity": 3, "price": Decimal("100")}]   # the caller's, unchanged
    sent = raised.value.items
    assert [item["idempotency_key"] for item in sent] == [e.idempotency_key for e in client.history(trade_id)][1:]
    again = client.batch(sent)
    assert [(r.status, r.replayed) for r in again.results] == [(200, True)]
    assert client.get_trade(trade_id).filled_quantity == Decimal("3")                     # applied once, not twice


def test_a_batch_answered_in_doubt_by_a_problem_carries_its_items_too(client: tradestore.Client, proxy_factory) -> None:
    trade_id = _id("BDOUBT2")
    proxy = proxy_factory("drop", "no-leader")
    with tradestore.Client(proxy.url, max_retries=1, max_retry_delay=0) as through_proxy:
        with pytest.raises(tradestore.ProblemError) as raised:
            through_proxy.batch([{"trade_id": trade_id, "account": "ACC-F", "symbol": "AAPL", "side": "buy", "quantity": 1, "price": 2}])
    assert raised.value.in_doubt
    again = client.batch(raised.value.items)
    assert [(r.status, r.replayed) for r in again.results] == [(201, True)]
    assert len(client.history(trade_id)) == 1


def test_queries_with_the_writes_last_seq_see_the_write_and_a_seq_not_held_is_seq_not_reached(server_url: str, client: tradestore.Client) -> None:
    trade_id = _id("RYWQ")
    client.create_trade(trade_id, "ACC-RYWQ", "AAPL", "buy", 10, 2)
    filled = client.fill(trade_id, 4, 2)
    sql = f"SELECT filled_quantity FROM current_trade_state WHERE trade_id = '{trade_id}'"

    rows = client.query(sql, as_frame=False, min_seq=filled.last_seq)
    frame = client.query(sql, as_frame=True, min_seq=filled.last_seq)
    csv = client.query_bytes(sql, "text/csv", min_seq=filled.last_seq)

    assert rows == [{"filled_quantity": Decimal("4")}] and rows.applied_seq >= filled.last_seq
    assert frame["filled_quantity"].tolist() == [Decimal("4")] and frame.attrs["applied_seq"] >= filled.last_seq
    assert b"4.00000000" in csv
    ahead = filled.last_seq + 1_000_000
    with tradestore.Client(server_url, max_retries=0) as impatient:
        for read in (lambda: impatient.query(sql, as_frame=False, min_seq=ahead), lambda: impatient.query(sql, as_frame=True, min_seq=ahead),
                     lambda: impatient.query_bytes(sql, min_seq=ahead)):
            with pytest.raises(tradestore.ProblemError) as raised:
                read()
            assert (raised.value.status, raised.value.type, raised.value.field) == (503, "urn:tradestore:problem:seq-not-reached", "minSeq")


def test_a_pooled_connection_the_server_closed_makes_no_write_in_doubt(client: tradestore.Client, proxy_factory) -> None:
    proxy = proxy_factory("answer-then-close")   # the next connection is relayed as it is
    trade_id = _id("IDLE")
    with tradestore.Client(proxy.url, max_retries=0) as through_proxy:
        assert through_proxy.positions("ACC-IDLE") == []
        assert proxy.closed.wait(10)
        pooled = next(iter(through_proxy._transport._connections().values())).sock
        select.select([pooled], [], [], 10)   # the close has reached the client's socket
        # Before: the create went out on the closed connection ("Broken pipe" / "Remote end closed connection") and,
        # with no retry left, raised InDoubt although the server never saw it.
        trade = through_proxy.create_trade(trade_id, "ACC-IDLE", "AAPL", "buy", 1, 2)
    assert trade.version == 1
    assert len(client.history(trade_id)) == 1


def test_a_redirect_loop_says_so_and_where_and_after_a_lost_answer_is_in_doubt(client: tradestore.Client, proxy_factory) -> None:
    # Nodes that each name another as the leader: the client follows 5 redirects, then raised "307 Temporary Redirect: "
    # with an empty detail, and not in doubt even when an earlier attempt had been applied and lost its answer.
    loop = proxy_factory(*["redirect-self"] * 6)
    with tradestore.Client(loop.url, max_retries=0) as looping:
        with pytest.raises(tradestore.ProblemError) as raised:
            looping.get_trade("T-LOOP")
    assert (raised.value.status, raised.value.title, raised.value.in_doubt) == (307, "Too many redirects", False)
    assert f"after 5 redirects, the last to {loop.url}/v1/trades/T-LOOP" in str(raised.value.detail)
    assert len(loop.heads) == 6

    lost = proxy_factory("drop", *["redirect-self"] * 6)
    trade_id = _id("LOOP")
    with tradestore.Client(lost.url, max_retries=1, max_retry_delay=0) as through_proxy:
        with pytest.raises(tradestore.ProblemError) as after_drop:
            through_proxy.create_trade(trade_id, "ACC-F", "AAPL", "buy", 1, 2)
    assert (after_drop.value.title, after_drop.value.in_doubt) == ("Too many redirects", True)
    assert "may have been applied" in str(after_drop.value)
    assert len(client.history(trade_id)) == 1


def test_a_batch_item_whose_idempotency_key_is_none_gets_one_so_a_retry_after_a_dropped_answer_applies_it_once(
        client: tradestore.Client, proxy_factory) -> None:
    # None means "generate one", as in client.fill(..., idempotency_key=None): the item went without a key (setdefault kept
    # the None), and the retry after the dropped answer filled 3 more.
    trade_id = _id("BNONE")
    client.create_trade(trade_id, "ACC-F", "AAPL", "buy", 10, 100)
    proxy = proxy_factory("drop")
    with tradestore.Client(proxy.url, max_retries=1, max_retry_delay=0) as through_proxy:
        result = through_proxy.batch([{"type": "fill", "trade_id": trade_id, "quantity": 3, "price": 100, "idempotency_key": None}])
    assert [(r.status, r.replayed) for r in result.results] == [(200, True)]   # the retry found the first attempt applied
    assert client.get_trade(trade_id).filled_quantity == Decimal("3")
    assert all(e.idempotency_key for e in client.history(trade_id)[1:])


def test_a_200_that_is_not_json_is_a_problem_saying_so_in_doubt_for_a_write(client: tradestore.Client, proxy_factory) -> None:
    proxy = proxy_factory("login-page", "login-page")
    trade_id = _id("HTML")
    with tradestore.Client(proxy.url, max_retries=0) as through_proxy:
        with pytest.raises(tradestore.ProblemError) as read:
            through_proxy.get_trade(trade_id)
        with pytest.raises(tradestore.ProblemError) as write:
            through_proxy.create_trade(trade_id, "ACC-F", "AAPL", "buy", 1, 2)
    # Was json.JSONDecodeError: "Expecting value: line 1 column 1 (char 0)", saying neither which request nor what came.
    assert (read.value.status, read.value.title, read.value.in_doubt) == (200, "Not a TradeStore answer", False)
    assert f"GET /v1/trades/{trade_id}" in str(read.value) and "text/html" in str(read.value) and "<!doctype html>" in str(read.value)
    assert (write.value.status, write.value.in_doubt) == (200, True)
    assert "POST /v1/trades" in str(write.value)
