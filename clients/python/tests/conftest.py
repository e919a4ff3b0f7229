"""Fixtures: a real ``tradestore serve`` (the one scripts/test.sh started, named by TRADESTORE_TEST_URL, or one started
here from the built CLI) and a TCP proxy that breaks chosen connections."""

from __future__ import annotations

import email.utils
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import tradestore  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_live(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health/live", timeout=1) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("TRADESTORE_TEST_URL")
    if url:
        if not _wait_live(url, 30):
            pytest.fail(f"TRADESTORE_TEST_URL={url} does not answer /health/live")
        yield url.rstrip("/")
        return
    configuration = os.environ.get("CONFIGURATION", "Release")
    cli = REPO / "src" / "TradeStore.Cli" / "bin" / configuration / "net10.0" / "tradestore.dll"
    if not cli.exists():
        message = f"build the CLI first ({cli} is missing) or set TRADESTORE_TEST_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    data = tempfile.mkdtemp(prefix="tradestore-pytest-")
    url = f"http://127.0.0.1:{_free_port()}"
    environment = dict(os.environ, TRADESTORE__SECURITY__QUERY__MAXROWS="1000000", TRADESTORE__SECURITY__REQUESTSPERSECOND="0",
                       TRADESTORE__SECURITY__CONCURRENTREQUESTS="0")
    process = subprocess.Popen(["dotnet", str(cli), "serve", "--data", data, "--urls", url], cwd=data, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not _wait_live(url, 60):
            pytest.fail("tradestore serve did not start within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def client(server_url: str) -> Iterator[tradestore.Client]:
    with tradestore.Client(server_url, max_retry_delay=2.0) as c:
        yield c


class FaultyProxy:
    """A loopback TCP proxy in front of the server. Each new connection takes the next fault:
    ``drop`` (relay the request, close as the answer starts: written, answer lost), ``drop-stop`` (``drop``, and stop
    listening before the reset: a node killed right after applying, every later connection refused), ``hold`` (relay
    the request, never answer), ``busy``, ``no-leader``, ``leadership-lost`` (answer 503 with that problem type and
    Retry-After: 1), ``busy-date`` (``busy`` with Retry-After as an HTTP date 30 s ahead, as a gateway may send it), ``redirect`` (answer 307 to the server, or to ``redirect_to``: a follower naming its leader),
    ``redirect-self`` (answer 307 to this proxy itself, a redirect loop), ``answer-then-close`` (relay one request and its answer, then close the connection without a ``Connection: close``
    header: a server that closed an idle keep-alive connection, as Kestrel does after 130 s, or restarted),
    ``login-page`` (answer 200 with an HTML page in the server's place, as a proxy's sign-in page does), or none."""

    _PROBLEMS = {
        "busy": b'{"type":"urn:tradestore:problem:busy","title":"Busy","status":503,"detail":"The write queue is full."}',
        "no-leader": b'{"type":"urn:tradestore:problem:no-leader","title":"No leader","status":503,"detail":"Nothing was applied."}',
        "leadership-lost": b'{"type":"urn:tradestore:problem:leadership-lost","title":"Leadership lost","status":503,'
                           b'"detail":"It may or may not survive the change of leader."}',
    }

    def __init__(self, server_url: str, *faults: str, redirect_to: str | None = None) -> None:
        self._server = server_url
        self._redirect_to = redirect_to or server_url
        host_port = server_url.split("//", 1)[1]
        self._upstream = (host_port.split(":")[0], int(host_port.split(":")[1]))
        self._faults = list(faults)
        self._lock = threading.Lock()
        self.heads: list[str] = []
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self.closed = threading.Event()  # set once an answer-then-close connection was closed
        threading.Thread(target=self._accept, daemon=True).start()

    def header(self, name: str) -> list[str | None]:
        values = []
        for head in self.heads:
            found = None
            for line in head.split("\r\n")[1:]:
                if line.lower().startswith(name.lower() + ":"):
                    found = line.split(":", 1)[1].strip()
            values.append(found)
        return values

    def close(self) -> None:
        self._stop_listening()
        for s in list(self._open):
            try:
                s.close()
            except OSError:
                pass

    def _stop_listening(self) -> None:
        # close() alone leaves the socket listening while the accept thread is blocked on it (Linux); shutdown wakes it.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                fault = self._faults.pop(0) if self._faults else ""
            self._open.append(downstream)
            threading.Thread(target=self._handle, args=(downstream, fault), daemon=True).start()

    def _handle(self, downstream: socket.socket, fault: str) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = downstream.recv(65536)
                if not chunk:
                    return
                head += chunk
            text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            with self._lock:
                self.heads.append(text)
            if fault in ("busy", "busy-date", "no-leader", "leadership-lost", "redirect", "redirect-self", "login-page"):
                length = next((int(l.split(":", 1)[1]) for l in text.split("\r\n") if l.lower().startswith("content-length:")), 0)
                received = len(head.split(b"\r\n\r\n", 1)[1])
                while received < length:
                    received += len(downstream.recv(65536))
                if fault == "login-page":
                    body = b"<!doctype html><title>Sign in</title><form>...</form>"
                    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: "
                              + str(len(body)).encode() + b"\r\n\r\n" + body)
                elif fault not in ("redirect", "redirect-self"):
                    body = self._PROBLEMS["busy" if fault == "busy-date" else fault]
                    retry_after = email.utils.formatdate(time.time() + 30, usegmt=True).encode() if fault == "busy-date" else b"1"
                    answer = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + retry_after + b"\r\nContent-Type: application/problem+json\r\n"
                              b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                else:
                    location = (self.url if fault == "redirect-self" else self._redirect_to) + text.split(" ")[1]
                    answer = f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".encode()
                downstream.sendall(answer)
                downstream.close()
                return
            upstream = socket.create_connection(self._upstream)
            self._open.append(upstream)
            if fault == "answer-then-close":
                # The server closes after this answer; its "Connection: close" is taken out, so the client keeps the
                # connection for its next request and finds it closed.
                upstream.sendall(head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
                downstream.sendall(answer.replace(b"Connection: close\r\n", b"", 1))
                downstream.shutdown(socket.SHUT_RDWR)
                downstream.close()
                self.closed.set()
                return
            upstream.sendall(head)
            threading.Thread(target=_pipe, args=(downstream, upstream), daemon=True).start()
            if fault in ("drop", "drop-stop"):
                upstream.recv(1)  # the server committed and started answering
                if fault == "drop-stop":
                    self._stop_listening()  # before the reset, so the caller's retry finds nothing listening
                    downstream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # shutdown (not only close) wakes the relay thread blocked on this socket and ends the connection now.
                for s in (downstream, upstream):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                return
            if fault == "hold":
                return  # never relay the answer; the connection stays open until close()
            _pipe(upstream, downstream)
        except OSError:
            pass


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def proxy_factory(server_url: str) -> Iterator:
    proxies: list[FaultyProxy] = []

    def make(*faults: str, redirect_to: str | None = None) -> FaultyProxy:
        proxy = FaultyProxy(server_url, *faults, redirect_to=redirect_to)
        proxies.append(proxy)
        return proxy

    yield make
    for p in proxies:
        p.close()


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """An address that refuses every connection while the test runs: a loopback port bound and never listened on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"
