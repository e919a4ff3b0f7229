"""What the service answers, as typed values: ``Decimal`` money, timezone-aware UTC times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Mapping


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone as an aware UTC ``datetime``."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """An aware ``datetime`` as ISO 8601 UTC with microseconds; a naive one is refused (its zone is unknown)."""
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc))")
    # isoformat, not strftime: glibc's %Y writes year 1 as "1", which the service refuses, so
    # trades(start=datetime.min.replace(tzinfo=timezone.utc)), "from the beginning", was a 400.
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def decimal_of(value: Any) -> Decimal:
    """A JSON number (read as ``Decimal`` or ``int``) or decimal string as ``Decimal``; never through float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"expected a decimal, got {type(value).__name__}")


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else decimal_of(value)


@dataclass(frozen=True)
class Trade:
    """A trade's current state. ``version`` grows by one per event; ``status`` is ``new``, ``partially_filled``,
    ``filled``, ``cancelled`` (or ``deleted``)."""

    trade_id: str
    account: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    status: str
    venue: str | None
    trader: str | None
    executed_at: datetime
    version: int
    last_seq: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "Trade":
        return Trade(
            trade_id=data["tradeId"],
            account=data["account"],
            symbol=data["symbol"],
            side=data["side"],
            quantity=decimal_of(data["quantity"]),
            price=decimal_of(data["price"]),
            filled_quantity=decimal_of(data["filledQuantity"]),
            average_fill_price=_optional_decimal(data.get("averageFillPrice")),
            status=data["status"],
            venue=data.get("venue"),
            trader=data.get("trader"),
            executed_at=parse_time(data["executedAt"]),
            version=int(data["version"]),
            last_seq=int(data["lastSeq"]),
            created_at=parse_time(data["createdAt"]),
            updated_at=parse_time(data["updatedAt"]),
        )


@dataclass(frozen=True)
class TradeEvent:
    """One journal event of a trade's history and the trade's state after it."""

    seq: int
    type: str
    version: int
    recorded_at: datetime
    last_quantity: Decimal | None
    last_price: Decimal | None
    idempotency_key: str | None
    trade: Trade

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "TradeEvent":
        return TradeEvent(
            seq=int(data["seq"]),
            type=data["type"],
            version=int(data["version"]),
            recorded_at=parse_time(data["recordedAt"]),
            last_quantity=_optional_decimal(data.get("lastQuantity")),
            last_price=_optional_decimal(data.get("lastPrice")),
            idempotency_key=data.get("idempotencyKey"),
            trade=Trade.from_json(data["trade"]),
        )


@dataclass(frozen=True)
class Position:
    """Net quantity and average price of one account in one symbol, and the sums they derive from."""

    account: str
    symbol: str
    net_quantity: Decimal
    average_price: Decimal
    bought_quantity: Decimal
    bought_notional: Decimal
    sold_quantity: Decimal
    sold_notional: Decimal

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "Position":
        return Position(
            account=data["account"],
            symbol=data["symbol"],
            net_quantity=decimal_of(data["netQuantity"]),
            average_price=decimal_of(data["averagePrice"]),
            bought_quantity=decimal_of(data["boughtQuantity"]),
            bought_notional=decimal_of(data["boughtNotional"]),
            sold_quantity=decimal_of(data["soldQuantity"]),
            sold_notional=decimal_of(data["soldNotional"]),
        )


@dataclass(frozen=True)
class BatchItemResult:
    """The outcome of one batch item: its HTTP status, and the trade or the problem that refused it alone."""

    index: int
    status: int
    replayed: bool
    trade: Trade | None
    problem: Mapping[str, Any] | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class BatchResult:
    """The answer to a batch: counts, and one result per item in order."""

    succeeded: int
    failed: int
    results: list[BatchItemResult]

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "BatchResult":
        return BatchResult(
            succeeded=int(data["succeeded"]),
            failed=int(data["failed"]),
            results=[
                BatchItemResult(
                    index=int(r["index"]),
                    status=int(r["status"]),
                    replayed=bool(r.get("replayed", False)),
                    trade=Trade.from_json(r["trade"]) if r.get("trade") else None,
                    problem=r.get("problem"),
                )
                for r in data["results"]
            ],
        )
