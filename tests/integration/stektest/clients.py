"""Resumption probes for the interop matrix: four independent TLS clients (openssl s_client,
gnutls-cli, Python's ssl module, curl) each open two connections, the second offering the
first's session. The clients connect to a Relay, a TCP relay on 127.0.0.1 that sends each
connection to a chosen server and may hold the second one back (until epochs have passed).

That is how clients that cannot keep a session between processes (gnutls-cli 3.7 has
--resume but no session file; curl 7.88 keeps sessions per process) still resume on another
host or after rotations: both connections happen in one client process, the relay decides
where they land. The relay also reads the server's plaintext first flight, so every client is
judged the same way: TLS 1.3 resumed when the ServerHello carries pre_shared_key; TLS 1.2
resumed when ChangeCipherSpec comes before any Certificate message (an abbreviated
handshake)."""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, run
from .tls import tls_connect

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
EXT_SUPPORTED_VERSIONS, EXT_PRE_SHARED_KEY, EXT_SESSION_TICKET = 0x002B, 0x0029, 0x0023


class FirstFlight:
    """Reads the server's bytes until it knows whether the handshake resumed (None until)."""

    def __init__(self):
        self.buf, self.hs = b"", b""
        self.resumed: bool | None = None
        self.tls13 = False
        self.saw_server_hello = False

    def feed(self, data: bytes) -> None:
        if self.resumed is not None:
            return
        self.buf += data
        while len(self.buf) >= 5 and self.resumed is None:
            ctype, length = self.buf[0], int.from_bytes(self.buf[3:5], "big")
            if len(self.buf) < 5 + length:
                return
            body, self.buf = self.buf[5:5 + length], self.buf[5 + length:]
            if ctype == 20 and self.saw_server_hello and not self.tls13:
                self.resumed = True  # TLS 1.2: CCS before any Certificate
            elif ctype == 22:
                self.hs += body
                self._messages()
            elif ctype != 22 and self.saw_server_hello and not self.tls13:
                self.resumed = False

    def _messages(self) -> None:
        while len(self.hs) >= 4 and self.resumed is None:
            mtype, length = self.hs[0], int.from_bytes(self.hs[1:4], "big")
            if len(self.hs) < 4 + length:
                return
            msg, self.hs = self.hs[4:4 + length], self.hs[4 + length:]
            if mtype == 2:
                self._server_hello(msg)
            elif mtype == 11:
                self.resumed = False  # a full handshake sends its certificate

    def _server_hello(self, msg: bytes) -> None:
        if msg[2:34] == HRR_RANDOM:
            return  # HelloRetryRequest: the real ServerHello follows
        self.saw_server_hello = True
        pos = 34 + 1 + msg[34] + 3
        end = pos + 2 + int.from_bytes(msg[pos:pos + 2], "big") if len(msg) > pos else pos
        pos += 2
        exts = set()
        while pos + 4 <= end:
            etype, elen = int.from_bytes(msg[pos:pos + 2], "big"), int.from_bytes(
                msg[pos + 2:pos + 4], "big")
            exts.add(etype)
            pos += 4 + elen
        if EXT_SUPPORTED_VERSIONS in exts:
            self.tls13 = True
            self.resumed = EXT_PRE_SHARED_KEY in exts


def client_offers(data: bytes) -> dict:
    """What a ClientHello (the client's first record) offers for resumption: a session ID, a
    TLS 1.2 session ticket (non-empty session_ticket extension), a TLS 1.3 PSK."""
    offers = {"session_id": False, "ticket": False, "psk": False}
    try:
        msg = data[5 + 4:]
        pos = 34
        offers["session_id"] = msg[pos] > 0
        pos += 1 + msg[pos]
        pos += 2 + int.from_bytes(msg[pos:pos + 2], "big")  # cipher suites
        pos += 1 + msg[pos]  # compression methods
        end = pos + 2 + int.from_bytes(msg[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= min(end, len(msg)):
            etype = int.from_bytes(msg[pos:pos + 2], "big")
            elen = int.from_bytes(msg[pos + 2:pos + 4], "big")
            if etype == EXT_SESSION_TICKET and elen > 0:
                offers["ticket"] = True
            if etype == EXT_PRE_SHARED_KEY:
                offers["psk"] = True
            pos += 4 + elen
    except IndexError:
        pass
    return offers


class Relay:
    """Listens on 127.0.0.1:port. Connection n goes to routes[n] = (server port, gate): gate
    (None or a callable) runs first and may wait; if it raises, the client is dropped. A gate
    may return a deadline (time.time()) by which the connection must have gone upstream: if
    waiting for first_limit makes it late, the gate runs again. Extra connections are
    refused. first_limit (shared by relays) bounds how many first connections run at once: a
    client that waits for its ticket on a loaded machine may give up (seen: gnutls-cli with 48
    probes at once offered no ticket). Per connection: resumed[n], at[n] (time of the
    ServerHello), offers[n] (what its ClientHello offered, see client_offers), accepted[n]
    and held[n] (seconds between the accept and the upstream connection: the client waited
    that long for the server's first byte)."""

    def __init__(self, routes, first_limit: threading.Semaphore | None = None):
        self.routes = list(routes)
        self.first_limit = first_limit
        self.resumed: list[bool | None] = [None] * len(self.routes)
        self.at: list[float | None] = [None] * len(self.routes)
        self.offers: list[dict | None] = [None] * len(self.routes)
        self.accepted: list[float | None] = [None] * len(self.routes)
        self.held: list[float | None] = [None] * len(self.routes)
        self.errors: list[str] = []
        self.sock = socket.create_server((LOOPBACK, 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closed = True
        self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept(self) -> None:
        n = 0
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if n >= len(self.routes):
                client.close()
                continue
            threading.Thread(target=self._serve, args=(n, client), daemon=True).start()
            n += 1

    def _pass(self, gate, limit: threading.Semaphore | None) -> None:
        """Runs gate, then takes a first_limit slot before the gate's deadline (else again)."""
        while True:
            deadline = gate(self) if gate is not None else None
            if limit is None:
                return
            if deadline is None:
                limit.acquire()
                return
            if limit.acquire(timeout=max(0.0, deadline - time.time())):
                if time.time() <= deadline:
                    return
                limit.release()

    def _serve(self, n: int, client: socket.socket) -> None:
        port, gate = self.routes[n]
        limit = self.first_limit if n == 0 else None
        self.accepted[n] = time.time()
        try:
            self._pass(gate, limit)
            self.held[n] = time.time() - self.accepted[n]
            upstream = socket.create_connection((LOOPBACK, port), timeout=60)
        except Exception as e:  # noqa: BLE001 - reported through errors, the client sees EOF
            self.errors.append(f"connection {n}: {e}")
            client.close()
            if limit is not None and self.held[n] is not None:
                limit.release()
            return
        watch = FirstFlight()

        def pump(src, dst, flight):
            try:
                while data := src.recv(65536):
                    if flight is None and self.offers[n] is None:
                        self.offers[n] = client_offers(data)
                    if flight is not None and flight.resumed is None:
                        flight.feed(data)
                        if flight.resumed is not None:
                            self.resumed[n], self.at[n] = flight.resumed, time.time()
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        up = threading.Thread(target=pump, args=(client, upstream, None), daemon=True)
        up.start()
        pump(upstream, client, watch)
        up.join(timeout=60)
        client.close()
        upstream.close()
        if limit is not None:
            limit.release()


# ------------------------------------------------------------------ the four clients
# Each connects twice to the relay on `port`, the second time offering the first's session,
# and returns what the client itself says about the second connection (None: it says nothing
# the harness reads).

class ClientSaid(Exception):
    """The client failed and said why (its own words, for the cell's error)."""


REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def openssl_twice(port: int, version: str, workdir: Path) -> bool | None:
    first = tls_connect(port, workdir, version, timeout=90, tag=f"m{port}")
    return tls_connect(port, workdir, version, resume=first.session_file, timeout=90,
                       tag=f"m{port}").reused


def python_twice(port: int, version: str, workdir: Path) -> bool | None:
    ctx = ssl.create_default_context(cafile=str(shared_cert()[0]))
    ctx.minimum_version = ctx.maximum_version = (
        ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3)
    session, reused = None, None
    for _ in range(2):
        with socket.create_connection((LOOPBACK, port), timeout=90) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
                tls.sendall(REQUEST)
                while tls.recv(65536):  # TLS 1.3 tickets arrive with the response
                    pass
                session, reused = tls.session, tls.session_reused
    return reused


# gnutls-cli 3.7 gives up a handshake after 40 s (GnuTLS's default handshake timeout; no
# option changes it): measured, a server that accepts and never answers gets "*** Fatal
# error: The operation timed out" after 40.1 s. The relay must not hold its second
# connection that long: test_interop_matrix.py opens gnutls-cli's first connection late in
# its epoch, so that three boundaries and the host's reload pass within it.
GNUTLS_HANDSHAKE_TIMEOUT = 40.0


def gnutls_twice(port: int, version: str, workdir: Path) -> bool | None:
    """gnutls-cli --resume. In TLS 1.3 it disconnects right after the handshake and, without
    --waitresumption, offers a ticket only if the server's NewSessionTicket was already in
    (measured on the loaded test machine: no pre_shared_key offered in some tries). Both
    connections are one process: the relay holds the second within GNUTLS_HANDSHAKE_TIMEOUT."""
    wait = ["--waitresumption"] if version == "1.3" else []
    proc = run(["gnutls-cli", "--x509cafile", shared_cert()[0], "--resume", *wait, "--priority",
                f"NORMAL:-VERS-ALL:+VERS-TLS{version}", "-p", port, "localhost"],
               input=REQUEST, timeout=90, check=False)
    out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"gnutls-{version}-{port}.out").write_text(out)  # for a cell that fails
    fatal = re.findall(r"\*\*\* Fatal error: .*", out)
    if fatal:
        raise ClientSaid(f"gnutls-cli: {fatal[-1][4:]}")
    return "This is a resumed session" in out


def curl_twice(port: int, version: str, workdir: Path) -> bool | None:
    """curl 7.88 keeps sessions in its process only: two URLs in one run (HTTP/1.1 and
    Connection: close, so the second is a new connection that offers the first's session;
    over HTTP/2 curl would reuse the first connection). curl prints nothing
    that says whether the server accepted it: the relay judges."""
    url = f"https://localhost:{port}/"
    proc = run(["curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "--cacert", shared_cert()[0],
         f"--tlsv{version}", "--tls-max", version, "--http1.1", "-H", "Connection: close",
         "--resolve", f"localhost:{port}:{LOOPBACK}", url, url], timeout=90, check=False)
    if proc.returncode != 0:
        raise ClientSaid(f"curl exited {proc.returncode}")
    return None


CLIENTS = {"openssl": openssl_twice, "gnutls-cli": gnutls_twice, "python-ssl": python_twice,
           "curl": curl_twice}


def probe(client: str, version: str, routes, workdir: Path,
          first_limit: threading.Semaphore | None = None) -> dict:
    """One resumption attempt: `client` connects twice through a Relay on `routes`. Returns the
    relay's verdicts, the client's own claim, the ticket's age at the second connection and
    any error."""
    with Relay(routes, first_limit) as relay:
        errors = []
        claim = None
        started = time.time()
        try:
            claim = CLIENTS[client](relay.port, version, workdir)
        except Exception as e:  # noqa: BLE001 - the cell reports it
            errors.append(re.sub(r"\s+", " ", str(e))[:200])
        errors += relay.errors
        ended = time.time()
        # A connection without the server's verdict is never a silent "no": say what the relay
        # saw of it (the client never opened it, or gave up while it was held).
        for n, resumed in enumerate(relay.resumed):
            if resumed is not None or any(e.startswith(f"connection {n}:") for e in relay.errors):
                continue
            if relay.accepted[n] is None:
                errors.append(f"connection {n}: never opened by {client} "
                              f"(it ran {ended - started:.1f} s)")
            elif relay.held[n] is None:
                errors.append(f"connection {n}: {client} gave up after the relay held it "
                              f"{ended - relay.accepted[n]:.1f} s (still at its gate)")
            else:
                errors.append(f"connection {n}: no server verdict (held {relay.held[n]:.1f} s)")
        age = (relay.at[1] - relay.at[0]) if None not in relay.at[:2] else None
        return {"first": relay.resumed[0], "resumed": relay.resumed[1], "claim": claim,
                "age": age, "error": "; ".join(errors) or None, "issued_at": relay.at[0],
                "offers": relay.offers[1], "held": relay.held[1], "took": ended - started}
