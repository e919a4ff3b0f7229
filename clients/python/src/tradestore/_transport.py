"""One HTTP exchange with retries: 503 and 429 (after ``Retry-After``), dropped connections and timeouts are retried
with the same request, idempotency key included; 307/308 are followed to the address they name, but every retry starts
again at the configured address (after a failover the leader a 307 named may be gone; the configured node redirects to
whoever leads now). A write whose attempt may have reached the server is reported in doubt if no later attempt gets a
definite answer."""

from __future__ import annotations

import datetime
import email.utils
import http.client
import json
import random
import select
import socket
import threading
import time
import urllib.parse
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ._errors import InDoubt, ProblemError, RequestTimeout

_MAX_REDIRECTS = 5
# The longest attempt timeout: what .NET's HttpClient.Timeout takes (Int32.MaxValue ms). A socket cannot take much more
# (1e10 s fails every request with "OverflowError: timestamp too large to convert to C _PyTime_t").
_MAX_TIMEOUT = 2_147_483.647
_TRANSPORT_ERRORS = (ConnectionError, http.client.HTTPException, socket.timeout, TimeoutError, OSError)


class _Connections:
    """One thread's connections, by (scheme, host, port)."""

    __slots__ = ("by_address", "__weakref__")

    def __init__(self) -> None:
        self.by_address: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}


class _Unsent(Exception):
    """A transport failure before the request could be sent (the connection could not be made): nothing applied."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    value: Any = None  # what ``consume`` made of a successful answer's body, read as it arrived
    request: str = ""  # "METHOD path", for messages
    write: bool = False  # the request was a command or a batch

    def json(self) -> Any:
        """The body as JSON. A body that is not JSON (a proxy's login page answered in TradeStore's place) raises
        :class:`ProblemError` saying so, in doubt for a write, rather than ``json.JSONDecodeError``."""
        try:
            return _parse_json(self.body)
        except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
            content_type = self.headers.get("Content-Type") or "no Content-Type"
            start = self.body[:200].decode("utf-8", "replace")
            problem = ProblemError(self.status, "about:blank", "Not a TradeStore answer",
                                   f"{self.request}: the {self.status} answer is not JSON ({content_type}; {error}); it starts "
                                   f"{start!r}. Something other than TradeStore answered: a proxy or another service at the URL?")
            problem.in_doubt = self.write  # the request may have reached TradeStore, and its answer been replaced
            raise problem from None


def _parse_json(body: bytes) -> Any:
    # Numbers with a fraction become Decimal, never float: money stays exact.
    from decimal import Decimal
    return json.loads(body, parse_float=Decimal)


class Transport:
    """Keeps one connection per host for each thread that uses it, so threads may share a ``Client``: an
    ``http.client`` connection is not thread-safe (two threads sending on one socket read each other's answers)."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float, max_retries: int, max_retry_delay: float) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"base_url: must be an absolute http:// or https:// address, got {base_url!r}")
        _check_number("timeout", timeout)
        if not 0 < timeout <= _MAX_TIMEOUT:   # "not" also refuses NaN, which compares false with everything
            raise ValueError(f"timeout: must be a positive number of seconds, at most {_MAX_TIMEOUT} (about 24.8 days, "
                             f"as the .NET client's Timeout), got {timeout}")
        check_count("max_retries", max_retries)
        if not 0 <= max_retries <= 10:
            raise ValueError(f"max_retries: must be 0-10, got {max_retries}")
        _check_number("max_retry_delay", max_retry_delay)
        if not max_retry_delay >= 0:
            raise ValueError(f"max_retry_delay: must be 0 or more seconds, got {max_retry_delay}")
        _check_api_key(api_key)
        self._base = parsed
        self._api_key = api_key
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_retry_delay = max_retry_delay
        self._local = threading.local()  # .connections: this thread's _Connections
        self._lock = threading.Lock()
        # Every live thread's, for close(); weak, so a thread that ended takes its connections with it.
        self._every: weakref.WeakSet[_Connections] = weakref.WeakSet()

    def close(self) -> None:
        """Closes every thread's connections; a later request opens new ones."""
        with self._lock:
            pools, self._every = list(self._every), weakref.WeakSet()
        for pool in pools:
            for connection in list(pool.by_address.values()):
                connection.close()
            pool.by_address.clear()
        self._local = threading.local()

    def _connections(self) -> dict[tuple[str, str, int | None], http.client.HTTPConnection]:
        """The calling thread's connections."""
        local = self._local
        pool = getattr(local, "connections", None)
        if pool is None:
            pool = local.connections = _Connections()
            with self._lock:
                self._every.add(pool)
        return pool.by_address

    def request(self, method: str, path: str, body: Any = None, idempotency_key: str | None = None,
                accept: str = "application/json", consume: Callable[[http.client.HTTPResponse], Any] | None = None,
                write: bool = False) -> Response:
        """One exchange with retries. With ``consume``, a successful answer's body is not buffered: ``consume`` reads it
        from the socket as it arrives and what it returns is ``Response.value``. ``write`` (a command or a batch): an
        attempt that may have reached the server makes a last failure that alone would mean "not applied" (a refused
        connection, ``503 no-leader``) in doubt (:class:`InDoubt`, ``ProblemError.in_doubt``)."""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"Accept": accept}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key

        configured = self._base._replace(path=self._base.path.rstrip("/") + path.split("?")[0],
                                         query=path.split("?", 1)[1] if "?" in path else "")
        target = configured
        redirects = 0
        attempt = 0
        in_doubt: str | None = None  # what became of the first attempt of a write that may have been applied
        while True:
            try:
                response = self._exchange(target, method, payload, headers, consume)
            except (_Unsent, *_TRANSPORT_ERRORS) as failure:
                error = failure.error if isinstance(failure, _Unsent) else failure
                if write and not isinstance(failure, _Unsent):
                    in_doubt = in_doubt or f"{_describe(error)}, after the request was sent: the write may have been applied"
                if attempt >= self._max_retries:
                    if in_doubt is not None:
                        raise InDoubt(_in_doubt_message(method, path, idempotency_key, attempt + 1, in_doubt, _describe(error)),
                                      idempotency_key) from error
                    if isinstance(error, (socket.timeout, TimeoutError)):
                        raise RequestTimeout(f"{method} {path}: no answer within {self._timeout} s after {attempt + 1} attempt(s)") from error
                    if isinstance(failure, _Unsent):
                        # The OSError's own type, as before (nothing was sent), saying where and how often.
                        raise _with_address(error, method, urllib.parse.urlunsplit(target), attempt + 1) from None
                    raise
                self._wait(None, attempt)
                attempt += 1
                target, redirects = configured, 0
                continue

            if response.status in (307, 308) and response.headers.get("Location") and redirects < _MAX_REDIRECTS:
                redirects += 1
                target = urllib.parse.urlsplit(urllib.parse.urljoin(urllib.parse.urlunsplit(target), response.headers["Location"]))
                continue
            if 200 <= response.status < 300:
                response.request, response.write = f"{method} {path}", write
                return response
            redirected_too_often = response.status in (307, 308) and bool(response.headers.get("Location"))
            problem = _too_many_redirects(method, path, response) if redirected_too_often else _problem(response)
            if response.status in (429, 503) and attempt < self._max_retries:
                if write and problem.in_doubt:
                    in_doubt = in_doubt or f"{response.status} {_short(problem.type)}: the write may have been applied"
                self._wait(response.headers.get("Retry-After"), attempt)
                attempt += 1
                target, redirects = configured, 0
                continue
            # A 503 or 429 speaks only for its own attempt (it came before the command ran), as does a redirect that never
            # reached a node that answers; any other answer to a retry with the same key is definite (a write that was
            # applied is answered as a replay).
            if in_doubt is not None and (response.status in (429, 503) or redirected_too_often):
                problem.after_earlier_attempt_in_doubt(in_doubt)
            raise problem

    def _exchange(self, target: urllib.parse.SplitResult, method: str, payload: bytes | None, headers: Mapping[str, str],
                  consume: Callable[[http.client.HTTPResponse], Any] | None = None) -> Response:
        key = (target.scheme, target.hostname or "", target.port)
        connections = self._connections()
        connection = connections.get(key)
        if connection is None:
            kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
            connection = kind(target.hostname or "", target.port, timeout=self._timeout)
            connections[key] = connection
        path = target.path + (f"?{target.query}" if target.query else "")
        if connection.sock is not None and _closed_by_server(connection.sock):
            connection.close()  # so it is connected again below, where a failure means "nothing sent"
        if connection.sock is None:
            try:
                connection.connect()
            except _TRANSPORT_ERRORS as error:
                connection.close()
                connections.pop(key, None)
                raise _Unsent(error) from error
        try:
            connection.request(method, path, body=payload, headers=dict(headers))
            answer = connection.getresponse()
            value = None
            if consume is not None and 200 <= answer.status < 300:
                value = consume(answer)
                answer.read()  # anything after what consume needed, so the connection can be reused
                body = b""
            else:
                body = answer.read()
        except BaseException:
            # The connection's state is unknown: the next attempt opens a fresh one.
            connection.close()
            connections.pop(key, None)
            raise
        if answer.getheader("Connection", "").lower() == "close":
            connection.close()
            connections.pop(key, None)
        return Response(answer.status, answer.headers, body, value)

    def _wait(self, retry_after: str | None, attempt: int) -> None:
        # 250 ms, 500 ms, 1 s, then 2 s, each with jitter (x 0.5-1): the default 8 retries wait 5.9-11.75 s in all,
        # longer than a leader failover (p99 3.7 s at the default lease), and at most 2 s after the new leader is there.
        delay = min(2.0, 0.25 * 2 ** attempt) * (0.5 + random.random() / 2)
        wanted = _retry_after_seconds(retry_after)
        if wanted is not None:
            delay = wanted
        time.sleep(max(0.0, min(delay, self._max_retry_delay)))


def _retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` as seconds from now: a number of seconds (TradeStore's form) or an HTTP date (RFC 9110's other
    form, which a gateway or load balancer in front may send); ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def _check_number(name: str, value: Any) -> None:
    """A number of seconds, or TypeError naming the option: a comparison would otherwise fail with a TypeError that names
    nothing (``None``, a ``str``), and ``True`` would be taken as 1 s."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number of seconds, got {type(value).__name__}")


def check_count(name: str, value: Any) -> None:
    """An ``int`` option (``max_retries``, ``page_size``), or TypeError naming it: ``2.5`` or ``"3"`` would otherwise be
    taken, or fail later in a comparison that names nothing."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")


def _check_api_key(api_key: str | None) -> None:
    """Refuses a key HTTP cannot carry as it is, naming ``api_key`` and never showing it: http.client's own error for a
    header with a line break (a key read from a file) quotes the whole header, key included, into the exception text
    and so into logs and tracebacks; non-Latin-1 text fails deep in http.client; a space would change the key."""
    if api_key is None or api_key == "":
        return  # no key: the keyless embedded default
    if not isinstance(api_key, str):
        raise TypeError(f"api_key: expected a str, got {type(api_key).__name__}")
    for index, char in enumerate(api_key):
        if not "!" <= char <= "~":
            raise ValueError(f"api_key: must be printable ASCII without spaces (a ts_… key), got U+{ord(char):04X} at index "
                             f"{index} of {len(api_key)} characters (a line break read with it from a file?)")


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether a kept-alive connection is no longer usable before anything is sent on it: a server that closed it (an
    idle connection past Kestrel's keep-alive timeout, a restart) has made it readable (its FIN, or a reset), while an
    idle open one has nothing to read between answers. Sending on it would fail after the request may have left, and
    so make a command look in doubt that the server never saw."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _with_address(error: BaseException, method: str, url: str, attempts: int) -> BaseException:
    """The same kind of ``OSError`` (``ConnectionRefusedError``, ``socket.gaierror``) with the request and the number of
    attempts in its text: Python's own says only "[Errno 111] Connection refused", not which address refused."""
    if not isinstance(error, OSError) or error.errno is None or not error.strerror:
        return error
    try:
        return type(error)(error.errno, f"{error.strerror} ({method} {url}, {attempts} attempt(s))")
    except TypeError:
        return error  # a subclass that is built differently: as it is


def _describe(error: BaseException) -> str:
    """A transport failure with its type, which says more than its text ("timed out", "[Errno 104] ...")."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _short(problem_type: str) -> str:
    return problem_type.removeprefix("urn:tradestore:problem:")


def _in_doubt_message(method: str, path: str, idempotency_key: str | None, attempts: int, in_doubt: str, last: str) -> str:
    advice = (f"Send it again with the same idempotency key ({idempotency_key}): if it was applied, the service answers the "
              "original result and writes nothing." if idempotency_key is not None else
              "Send the batch again as client.batch(error.items): each item there keeps the idempotency key it was sent with "
              "(generated ones too), so items already applied are replayed.")
    return (f"{method} {path}: the command may have been applied. An attempt failed with {in_doubt}; the last of {attempts} "
            f"attempt(s) failed with {last}. {advice}")


def _too_many_redirects(method: str, path: str, response: Response) -> ProblemError:
    """The 307/308 that ended a chain of redirects longer than the client follows: it used to be raised as a bare
    "307 Temporary Redirect: " problem that said neither that redirects went round nor where."""
    return ProblemError(response.status, "about:blank", "Too many redirects",
                        f"{method} {path}: still redirected after {_MAX_REDIRECTS} redirects, the last to "
                        f"{response.headers['Location']}: nothing was applied by this attempt. Nodes that each name another "
                        "as the leader (a cluster whose configuration or etcd prefix differs between nodes?) or a proxy "
                        "that redirects in a loop.")


def _problem(response: Response) -> ProblemError:
    try:
        data = _parse_json(response.body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "type" not in data:
        text = response.body[:500].decode("utf-8", "replace")
        data = {"type": "about:blank", "title": http.client.responses.get(response.status, str(response.status)), "status": response.status, "detail": text}
    return ProblemError.from_problem(data, response.status)
