"""The TradeStore client."""

from __future__ import annotations

import numbers
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import quote, urlencode

from . import _query
from ._errors import InDoubt, ProblemError
from ._models import BatchResult, Position, Trade, TradeEvent, format_time
from ._transport import Transport, check_count

_COMMAND_FIELDS = {
    "trade_id": "tradeId", "account": "account", "symbol": "symbol", "side": "side", "quantity": "quantity",
    "price": "price", "venue": "venue", "trader": "trader", "executed_at": "executedAt",
    "expected_version": "expectedVersion", "type": "type", "idempotency_key": "idempotencyKey",
}


# The server's rule for a key (1-128 printable characters); sent as the Idempotency-Key header, so printable ASCII.
_MAX_IDEMPOTENCY_KEY_LENGTH = 128
# Path segments that URLs normalise away ("/v1/trades/.." is "/v1/"), so no URL can name such a trade.
_DOT_SEGMENTS = (".", "..")


def new_idempotency_key() -> str:
    """A fresh random key; every retry of one command reuses it, so the service applies the command once."""
    return "tsp-" + uuid.uuid4().hex


def _wire(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("quantities and prices must be Decimal, int or str, never float (a float is not exact)")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite decimal: {value}")
        return format(value, "f")
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        raise TypeError("expected a timezone-aware datetime, got a date (its time and zone are unknown)")
    if isinstance(value, numbers.Integral) and not isinstance(value, int):
        # numpy.int64 and its kind (a quantity taken from a DataFrame column), exact as int; json.dumps refused them with
        # "Object of type int64 is not JSON serializable", naming no argument.
        return int(value)
    if not isinstance(value, (str, int)):
        raise TypeError(f"expected a str, int, Decimal or aware datetime, got {type(value).__name__}")
    return value


def _named(name: str, value: Any) -> Any:
    """``_wire(value)``, its refusal (a float, a non-finite Decimal, a naive datetime, a date) naming the argument."""
    try:
        return _wire(value)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name}: {error}") from None


def _body(**fields: Any) -> dict[str, Any]:
    return {_COMMAND_FIELDS.get(k, k): _named(k, v) for k, v in fields.items() if v is not None}


def _escape(trade_id: str) -> str:
    if not isinstance(trade_id, str):
        # quote() would fail with "quote_from_bytes() expected bytes", naming nothing.
        raise TypeError(f"trade_id: expected a str, got {type(trade_id).__name__}")
    if not trade_id:
        raise ValueError("trade_id: required")
    if trade_id in _DOT_SEGMENTS:
        raise ValueError(f"trade_id: {trade_id!r} cannot be named in a URL path (a dot segment: URLs normalise it away, "
                         "so the request would reach another endpoint); use a batch item, whose trade id is in the body")
    if "\x00" in trade_id:
        # The server's HTTP layer refuses %00 in a path before TradeStore reads it: a bare 400 with no detail.
        raise ValueError(f"trade_id: holds a NUL character at index {trade_id.index(chr(0))}, which no trade id can hold")
    return quote(trade_id, safe="")


def _check_idempotency_key(key: str) -> str:
    """The key as given, or ValueError naming the argument: checked here because http.client would raise a low-level
    error for a header it cannot send (a newline, non-Latin-1 text), or send one the server reads differently."""
    if not isinstance(key, str):
        raise TypeError(f"idempotency_key: expected a str, got {type(key).__name__}")
    if not 1 <= len(key) <= _MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"idempotency_key: must be 1-{_MAX_IDEMPOTENCY_KEY_LENGTH} characters, got {len(key)}")
    for index, char in enumerate(key):
        if not " " <= char <= "~":
            raise ValueError(f"idempotency_key: must be printable ASCII (space to '~'; it is sent as the Idempotency-Key "
                             f"header), got {char!r} at index {index}")
    if key[0] == " " or key[-1] == " ":
        raise ValueError("idempotency_key: must not start or end with a space (HTTP drops them from a header value)")
    return key


class Client:
    """TradeStore over HTTP: commands, reads, paged lists, positions and SQL.

    Quantities and prices are ``decimal.Decimal`` both ways (``int`` and ``str`` are accepted, ``float`` is refused);
    times are timezone-aware UTC. A refusal raises :class:`tradestore.ProblemError` (``VersionConflict``,
    ``NotFound``, ``Forbidden`` for those types). Every command carries an ``Idempotency-Key`` (generated unless you
    pass one); 503, 429 (after ``Retry-After``), dropped connections and timeouts are retried with the same key, so a
    retry never writes twice. A 307 is followed to the address it names; every retry starts again at ``base_url`` (any
    node of a cluster, or a load balancer), so a call rides through a change of leader. A command whose outcome is
    unknown raises :class:`tradestore.InDoubt` (or a ``ProblemError`` with ``in_doubt``): send it again with the same
    key. Reads take ``min_seq`` (a write's ``Trade.last_seq``) to read your writes on any node. Threads may share a
    ``Client`` (each has its own connections). An ``idempotency_key`` must be 1-128 printable ASCII characters (it is a
    header), and a ``trade_id`` in a URL path may not be ``"."`` or ``".."``: both raise ``ValueError`` naming the
    argument before anything is sent.

    ``timeout`` bounds each wait for an answer within one attempt (15 s: above the server's own bounds, so only a node
    that stopped answering reaches it); ``max_retries`` (0-10, default 8) retries wait 5.9-11.75 s in all (250 ms doubling
    to 2 s, with jitter; ``Retry-After`` where the server sends one, capped at ``max_retry_delay``), longer than a leader
    failover. A ``base_url`` that is itself a stopped node holds a call for up to (1 + ``max_retries``) x ``timeout``
    plus the back-off, about 2.5 min with the defaults.

    >>> from decimal import Decimal                                              # doctest: +SKIP
    >>> client = Client("http://127.0.0.1:5080")                                 # doctest: +SKIP
    >>> client.create_trade("T-1", "ACC-1", "AAPL", "buy", Decimal("100"), Decimal("189.25")).version  # doctest: +SKIP
    1
    >>> client.fill("T-1", Decimal("40"), Decimal("189.29")).status             # doctest: +SKIP
    'partially_filled'
    """

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 15.0, *, max_retries: int = 8,
                 max_retry_delay: float = 10.0, page_size: int = 1000) -> None:
        check_count("page_size", page_size)
        if not 1 <= page_size <= 100_000:
            raise ValueError(f"page_size: must be 1-100000, got {page_size}")
        self._transport = Transport(base_url, api_key, timeout, max_retries, max_retry_delay)
        self._page_size = page_size

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Commands ---------------------------------------------------------------------------------------------------

    def create_trade(self, trade_id: str, account: str, symbol: str, side: str, quantity: Decimal | int | str,
                     price: Decimal | int | str, *, venue: str | None = None, trader: str | None = None,
                     executed_at: datetime | None = None, idempotency_key: str | None = None) -> Trade:
        """Creates a trade (``side`` is ``buy`` or ``sell``); ``executed_at`` defaults to the service's clock."""
        body = _body(trade_id=trade_id, account=account, symbol=symbol, side=side, quantity=quantity, price=price,
                     venue=venue, trader=trader, executed_at=executed_at)
        return self._command("POST", "/v1/trades", body, idempotency_key)

    def amend(self, trade_id: str, expected_version: int, *, quantity: Decimal | int | str | None = None,
              price: Decimal | int | str | None = None, venue: str | None = None, trader: str | None = None,
              executed_at: datetime | None = None, idempotency_key: str | None = None) -> Trade:
        """Changes a trade read at ``expected_version`` (at least one change); a stale version raises ``VersionConflict``."""
        body = _body(expected_version=expected_version, quantity=quantity, price=price, venue=venue, trader=trader,
                     executed_at=executed_at)
        return self._command("POST", f"/v1/trades/{_escape(trade_id)}/amend", body, idempotency_key)

    def fill(self, trade_id: str, quantity: Decimal | int | str, price: Decimal | int | str, *,
             expected_version: int | None = None, idempotency_key: str | None = None) -> Trade:
        body = _body(quantity=quantity, price=price, expected_version=expected_version)
        return self._command("POST", f"/v1/trades/{_escape(trade_id)}/fill", body, idempotency_key)

    def cancel(self, trade_id: str, *, expected_version: int | None = None, idempotency_key: str | None = None) -> Trade:
        return self._command("POST", f"/v1/trades/{_escape(trade_id)}/cancel", _body(expected_version=expected_version), idempotency_key)

    def delete(self, trade_id: str, expected_version: int | None = None, *, idempotency_key: str | None = None) -> Trade:
        """Deletes a trade; the answer is its last state with status ``deleted``. With ``expected_version`` the delete
        applies only to that version (else ``VersionConflict``); without it, whatever the version."""
        path = f"/v1/trades/{_escape(trade_id)}"
        if expected_version is not None:
            path += f"?{urlencode({'expectedVersion': expected_version})}"
        return self._command("DELETE", path, None, idempotency_key)

    def batch(self, items: Iterable[Mapping[str, Any]]) -> BatchResult:
        """Sends commands together (they share group commits; later ones see earlier ones); each fails alone.

        Each item takes the keyword names of the single methods plus ``type`` (``create`` default, ``amend``,
        ``fill``, ``cancel``, ``delete``); each gets its own idempotency key unless it has ``idempotency_key`` (``None``
        counts as none, as in the single methods). The caller's items are not changed: when the batch may have been applied (``InDoubt``, or a ``ProblemError`` with
        ``in_doubt``), send ``error.items`` (the items as sent, each with its key), never the original items again.

        >>> client.batch([{"trade_id": "T-2", "account": "ACC-1", "symbol": "MSFT", "side": "sell",   # doctest: +SKIP
        ...                "quantity": Decimal("5"), "price": Decimal("410")},
        ...               {"type": "fill", "trade_id": "T-2", "quantity": Decimal("5"), "price": Decimal("410.5")}]).succeeded
        2
        """
        sent = []
        for item in items:
            fields = dict(item)
            if fields.get("idempotency_key") is None:
                # None as in the single methods (idempotency_key=None): a key is generated. setdefault kept the None, and
                # the item went without a key, so a retry after a dropped connection applied it twice.
                fields["idempotency_key"] = new_idempotency_key()
            sent.append(fields)
        body = [_body(**fields) for fields in sent]
        try:
            return BatchResult.from_json(self._transport.request("POST", "/v1/trades/batch", body, write=True).json())
        except (InDoubt, ProblemError) as error:
            # The keys generated here are in copies of the caller's items: without them, sending "the same items" again
            # would make new keys and apply the batch twice. The error carries the items as sent.
            error.items = sent
            raise

    # Reads ------------------------------------------------------------------------------------------------------

    def get_trade(self, trade_id: str, *, min_seq: int | None = None) -> Trade:
        """The trade's current state; ``NotFound`` when unknown or deleted.

        With ``min_seq`` the node asked answers once it holds that journal seq: pass the ``last_seq`` of a write's
        answer to read your write on a follower. A node that does not reach it within the server's
        ``Cluster:ReadWaitTimeout`` answers ``503 seq-not-reached``, retried like any 503. ``history``, ``trades`` and
        ``positions`` take it too.

        >>> trade = client.fill("T-1", Decimal("40"), Decimal("189.29"))           # doctest: +SKIP
        >>> follower.get_trade("T-1", min_seq=trade.last_seq).filled_quantity     # doctest: +SKIP
        Decimal('40')
        """
        return Trade.from_json(self._transport.request("GET", _with_min_seq(f"/v1/trades/{_escape(trade_id)}", min_seq)).json())

    def history(self, trade_id: str, *, min_seq: int | None = None) -> list[TradeEvent]:
        """Every event of the trade, oldest first, following the cursor across all pages (``min_seq``: see
        ``get_trade``). ``NotFound`` when the trade is unknown; a deleted trade's history stays readable. A trade amended
        or filled many times: ``history_events`` yields its events a page at a time instead of holding them all."""
        return list(self.history_events(trade_id, min_seq=min_seq))

    def history_events(self, trade_id: str, *, min_seq: int | None = None) -> Iterator[TradeEvent]:
        """The trade's events, oldest first, a page at a time: the server's first page (``Api:DefaultPageSize`` events),
        then ``page_size`` each (at most the server's ``Api:MaxPageSize``; one above it raises a ``ProblemError`` 400
        whose ``field`` is ``page_size``). Events written while the pages are read are in the later pages, none repeated
        or skipped. ``min_seq``: see ``get_trade`` (every page waits for it).

        >>> sum(e.last_quantity for e in client.history_events("T-1") if e.type == "fill")  # doctest: +SKIP
        Decimal('40')
        """
        # Checked here, not at the first next(): a bad trade_id or min_seq raises at the call, as history() does.
        params: dict[str, Any] = {}
        if min_seq is not None:
            params["minSeq"] = _checked_min_seq(min_seq)
        # The first page without limit: a server from before history was paged (2026-12-05) refuses any parameter there
        # but minSeq, and answers every event at once without a nextCursor.
        pages = self._pages(f"/v1/trades/{_escape(trade_id)}/history", params, dict(params, limit=self._page_size))
        return (TradeEvent.from_json(item) for item in pages)

    def _pages(self, path: str, first: dict[str, Any], following: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a keyset-paged GET: the first page asked with ``first``, the next ones with ``following`` and the
        page's ``nextCursor``, until a page has none. A refused page size is restated as ``page_size``'s fault."""
        cursor: str | None = None
        while True:
            query = dict(following, cursor=cursor) if cursor else first
            try:
                page = self._transport.request("GET", f"{path}?{urlencode(query)}" if query else path).json()
            except ProblemError as problem:
                restated = _list_problem(problem, self._page_size)
                if restated is None:
                    raise
                raise restated from problem

            yield from page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def trades(self, account: str | None = None, symbol: str | None = None, status: str | None = None,
               start: datetime | None = None, end: datetime | None = None, *, min_seq: int | None = None) -> Iterator[Trade]:
        """Every matching trade in ``executed_at``, ``trade_id`` order, following the cursor across all pages (none
        repeated or skipped while others arrive). ``start`` is inclusive, ``end`` exclusive. ``min_seq``: see
        ``get_trade`` (every page waits for it). Pages hold the client's ``page_size`` trades; one above the server's
        ``Api:MaxPageSize`` (default 1000) raises a ``ProblemError`` 400 whose ``field`` is ``page_size``.

        >>> day = datetime(2026, 11, 27, tzinfo=timezone.utc)                                # doctest: +SKIP
        >>> sum(t.quantity for t in client.trades(account="ACC-1", start=day, end=day + timedelta(days=1)))  # doctest: +SKIP
        Decimal('1250')
        """
        params: dict[str, Any] = {"limit": self._page_size}
        for name, argument, value in (("account", "account", account), ("symbol", "symbol", symbol), ("status", "status", status),
                                      ("from", "start", start), ("to", "end", end)):
            if value is not None:
                params[name] = _named(argument, value)
        if min_seq is not None:
            params["minSeq"] = _checked_min_seq(min_seq)
        for item in self._pages("/v1/trades", params, params):
            yield Trade.from_json(item)

    def positions(self, account: str | None = None, *, min_seq: int | None = None) -> list[Position]:
        """Positions of one account, or of every account the key may see, by account then symbol, following the cursor
        across all pages: the server's first page (``Api:DefaultPageSize`` positions), then ``page_size`` each (one above
        the server's ``Api:MaxPageSize`` raises a ``ProblemError`` 400 whose ``field`` is ``page_size``). ``min_seq``: see
        ``get_trade`` (every page waits for it). Each page is exact at its own seq; with writes between pages none is
        repeated or skipped, but the pages together are no one state (docs/api.md, "Positions")."""
        params: dict[str, Any] = {}
        if account is not None:
            params["account"] = _named("account", account)
        if min_seq is not None:
            params["minSeq"] = _checked_min_seq(min_seq)
        # The first page without limit: a server from before positions were paged (2026-12-05) refuses any parameter
        # there but account and minSeq, and answers every position at once without a nextCursor.
        return [Position.from_json(p) for p in self._pages("/v1/positions", params, dict(params, limit=self._page_size))]

    def query(self, sql: str, *, as_frame: bool | None = None, min_seq: int | None = None) -> Any:
        """Runs one read-only SELECT (an admin key, or readers where the service allows it).

        Returns a ``pandas.DataFrame`` when pandas (and so numpy) is importable, or with ``as_frame=True``, else a
        :class:`tradestore.Rows`: a list of dicts with ``.columns``, ``.types`` and ``.truncated`` (``"rows"``,
        ``"bytes"`` or ``None``). Decimal columns hold ``Decimal`` objects (dtype ``object``), times are
        ``datetime64[ns, UTC]``, integers ``int64`` (``Int64`` with NULLs), floats ``float64``, booleans ``bool``
        (``boolean`` with NULLs), dates ``datetime.date`` objects. The answer is read as an Arrow stream, decoded as it
        arrives by the package's own reader (numpy, no pyarrow needed); ``frame.attrs["truncated"]`` is ``"rows"`` or
        ``"bytes"`` when the server cut the answer at its limits, else ``None``. ``frame.attrs["applied_seq"]`` (and
        ``Rows.applied_seq``) is the journal seq DuckDB held when the query started: every write whose
        ``Trade.last_seq`` is at most it is in the answer (``None`` from a server without ``TradeStore-Applied-Seq``).
        ``as_frame=True`` without pandas raises ``ImportError`` before anything is sent. With ``min_seq`` (a write's
        ``Trade.last_seq``) the query runs once the node's DuckDB holds that seq: read your writes in SQL on any node
        (``503 seq-not-reached``, retried like any 503, when it does not get there; see ``get_trade``).

        >>> client.query("SELECT account, sum(quantity) AS qty FROM current_trade_state GROUP BY account")  # doctest: +SKIP
          account          qty
        0   ACC-1  1250.00000000
        """
        # pandas cannot be imported without numpy, which the Arrow reader uses too: both or no DataFrame.
        frame_ready = _has("pandas") and _has("numpy")
        if as_frame and not frame_ready:
            raise ImportError("query(as_frame=True) needs pandas (Debian: python3-pandas; pip: tradestore[pandas])")
        if not (frame_ready if as_frame is None else as_frame):
            response = self._transport.request("POST", _with_min_seq("/v1/query", min_seq), {"sql": sql})
            rows = _query.rows_from_json(_query.parse_answer(response.body), _query.applied_seq(response.headers))
            rows._instead_of_a_frame = ("as_frame=False was passed" if as_frame is False else
                                        "pandas (or numpy) cannot be imported here: install python3-pandas (Debian) or "
                                        "tradestore[pandas] for DataFrames, or pass as_frame=True to fail before sending")
            return rows
        from . import _arrow

        answer = self._transport.request("POST", _with_min_seq("/v1/query", min_seq), {"sql": sql}, accept="application/vnd.apache.arrow.stream",
                                         consume=_arrow.read_frame)
        result, truncated = answer.value
        result.attrs["truncated"] = truncated
        result.attrs["applied_seq"] = _query.applied_seq(answer.headers)
        return result

    def query_bytes(self, sql: str, media_type: str = "application/vnd.apache.arrow.stream", *, min_seq: int | None = None) -> bytes:
        """The raw answer in another format: ``application/vnd.apache.arrow.stream``, ``application/vnd.apache.parquet``,
        ``text/csv`` or ``application/json`` (``min_seq``: see ``query``)."""
        return self._transport.request("POST", _with_min_seq("/v1/query", min_seq), {"sql": sql}, accept=media_type).body

    # -----------------------------------------------------------------------------------------------------------

    def _command(self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None) -> Trade:
        key = new_idempotency_key() if idempotency_key is None else _check_idempotency_key(idempotency_key)
        return Trade.from_json(self._transport.request(method, path, body, idempotency_key=key, write=True).json())


# The query parameters trades() sends under other names than its arguments.
_LIST_ARGUMENTS = {"from": "start", "to": "end"}


def _list_problem(problem: ProblemError, page_size: int) -> ProblemError | None:
    """The server's 400 on a list's (or a history's) parameter, restated for the argument the caller set: ``limit`` (over its
    ``Api:MaxPageSize``) is the client's ``page_size``, ``from`` and ``to`` its ``start`` and ``end``; a caller who never
    wrote those names would not know what to change."""
    if problem.status != 400:
        return None
    if problem.field == "limit":
        return ProblemError(problem.status, problem.type, problem.title,
                            f"page_size {page_size} is more than this server allows (it said: {problem.detail}). "
                            "Create the Client with a smaller page_size.", field="page_size")
    argument = _LIST_ARGUMENTS.get(problem.field or "")
    if argument is None:
        return None
    return ProblemError(problem.status, problem.type, problem.title,
                        f"{argument} (sent as '{problem.field}'; from is start, to is end): {problem.detail}", field=argument)


def _with_min_seq(path: str, min_seq: int | None) -> str:
    if min_seq is None:
        return path
    return f"{path}{'&' if '?' in path else '?'}{urlencode({'minSeq': _checked_min_seq(min_seq)})}"


def _checked_min_seq(min_seq: Any) -> int:
    if isinstance(min_seq, bool) or not isinstance(min_seq, int):
        raise TypeError(f"min_seq: expected an int (a write's Trade.last_seq), got {type(min_seq).__name__}")
    return min_seq


def _has(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None
