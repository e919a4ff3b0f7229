"""Problem details (RFC 7807) as exceptions."""

from __future__ import annotations

from typing import Any, Mapping


# Problems after which a refused write may exist all the same: completed after the leader's lease ran out, in the
# leader's log but too few followers acknowledged it, failed unexpectedly (perhaps after applying).
_IN_DOUBT_TYPES = frozenset({
    "urn:tradestore:problem:leadership-lost",
    "urn:tradestore:problem:replication-unavailable",
    "urn:tradestore:problem:internal",
})


class ProblemError(Exception):
    """The service refused a request. Nothing was changed, unless ``in_doubt`` is true.

    ``field`` names the bad input (a JSON property, query parameter or header) and
    ``current_version`` the trade's version after a version conflict. ``items`` is set for a refused batch: its
    items as sent, each with the ``idempotency_key`` it carried, so ``client.batch(problem.items)`` sends exactly that
    batch again (``None`` for every other request).

    ``in_doubt`` is true when the write may have been applied all the same, so send it again with the same
    idempotency key: ``503 leadership-lost``, ``503 replication-unavailable``, ``500 internal``, a ``502``/``504``
    that is not TradeStore's own answer (a gateway in front of it), and any problem that ended the retries of a
    command an earlier attempt of which reached the server and lost its answer (that problem speaks only for its own
    attempt). Every other problem (4xx, ``503 no-leader``, ``busy``, ``unavailable``, ``seq-not-reached``, 429)
    changed nothing.

    >>> try:                                                       # doctest: +SKIP
    ...     client.create_trade("T-1", "ACC-1", "AAPL", "buy", Decimal("-1"), Decimal("1"))
    ... except tradestore.ProblemError as problem:
    ...     print(problem.status, problem.field)
    400 quantity
    """

    def __init__(self, status: int, type: str, title: str, detail: str | None = None,
                 field: str | None = None, current_version: int | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}" + (f" (field '{field}')" if field else ""))
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.field = field
        self.current_version = current_version
        self.in_doubt = type in _IN_DOUBT_TYPES or (type == "about:blank" and status in (502, 504))
        self.items: list[dict[str, Any]] | None = None

    def after_earlier_attempt_in_doubt(self, what: str) -> "ProblemError":
        """Marks the problem in doubt because an earlier attempt of the same command may have been applied (``what``
        became of it), and says so in the message."""
        self.in_doubt = True
        self.args = (f"{self.args[0]} An earlier attempt of the command may have been applied ({what}); "
                     "send it again with the same idempotency key.",)
        return self

    @staticmethod
    def from_problem(problem: Mapping[str, Any], status: int) -> "ProblemError":
        """The exception for a problem body: the subclass matching its ``type`` where there is one."""
        kind = {
            "urn:tradestore:problem:version-conflict": VersionConflict,
            "urn:tradestore:problem:not-found": NotFound,
            "urn:tradestore:problem:forbidden": Forbidden,
        }.get(str(problem.get("type")), ProblemError)
        return kind(
            status=int(problem.get("status") or status),
            type=str(problem.get("type") or "about:blank"),
            title=str(problem.get("title") or ""),
            detail=problem.get("detail"),
            field=problem.get("field"),
            current_version=problem.get("currentVersion"),
        )


class VersionConflict(ProblemError):
    """409: the ``expected_version`` was stale; ``current_version`` is the trade's version now."""


class NotFound(ProblemError):
    """404: an unknown or deleted trade (or one of an account the key may not see)."""


class Forbidden(ProblemError):
    """403: the key's role or accounts do not allow the request."""


class RequestTimeout(TimeoutError):
    """No answer within the timeout on any attempt. Send the command again with the same idempotency key:
    if an earlier attempt was applied, the service answers its original result and writes nothing."""


class InDoubt(RequestTimeout):
    """A command may have been applied: an attempt of it reached the server (its connection broke after the request was
    sent, or no answer came within the timeout) and no later attempt got a definite answer. Send it again with the same
    ``idempotency_key``: if it was applied, the service answers its original result and writes nothing. For a batch,
    ``idempotency_key`` is ``None`` and ``items`` holds the items as sent, each with the ``idempotency_key`` it carried
    (generated ones included): ``client.batch(error.items)`` replays the items already applied and applies the rest.

    ``__cause__`` is the last attempt's failure, e.g. ``ConnectionRefusedError``, which alone would mean "not applied".
    It is a :class:`RequestTimeout` (what a command whose every attempt timed out raised before), so ``except
    tradestore.RequestTimeout`` covers every in-doubt case. A connection refused on every attempt (nothing was ever sent)
    is not in doubt and stays the ``OSError``."""

    in_doubt = True  # as on a ProblemError, so one ``except (InDoubt, ProblemError)`` can test it

    def __init__(self, message: str, idempotency_key: str | None = None) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key
        self.items: list[dict[str, Any]] | None = None
