"""Problem details (RFC 7807) as exceptions."""

from __future__ import annotations

from typing import Any, Mapping


class ProblemError(Exception):
    """The service refused a request; nothing was changed.

    ``field`` names the bad input (a JSON property, query parameter or header) and
    ``current_version`` the trade's version after a version conflict.

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
