"""The TLS client of the harness: one HTTPS request with `openssl s_client`, which tells whether
the session resumed and which tickets the server sent, and saves the session for a later
resumption. Tests and the local fleet check resumption with it and nothing else."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from .proc import LOOPBACK, HarnessError, run, wait_until
from .ring import epoch


@dataclass
class TlsResult:
    reused: bool
    protocol: str
    tickets: list[bytes]    # every ticket the server sent on this connection, in order
    lifetime_hint: int | None
    session_file: Path      # for a later resumption; may not exist (see tls_connect)
    output: str

    @property
    def ticket(self) -> bytes:
        """The last ticket the server sent, b"" if none."""
        return self.tickets[-1] if self.tickets else b""

    @property
    def key_name(self) -> str:
        """First 16 bytes of the last ticket, hex: the key name in OpenSSL-family tickets."""
        return self.ticket[:16].hex()


def tls_connect(port: int, workdir: Path, version: str = "1.2", resume: Path | None = None,
                servername: str = "localhost", timeout: float = 15.0, tag: str = "sess",
                extra: tuple = ()) -> TlsResult:
    """One HTTPS request with `openssl s_client`; saves the session for a later resumption.

    Tickets are read from the NewSessionTicket handshake messages (-msg), not from the saved
    session: s_client saves no session when a TLS 1.2 resumption brings a renewed ticket.
    TLS 1.3 tickets arrive after the handshake, so the client sends a request and reads the
    response before closing (-ign_eof), which guarantees they were processed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{tag}-{time.monotonic_ns()}.pem"
    args = ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-servername", servername,
            "-tls1_2" if version == "1.2" else "-tls1_3", "-sess_out", out, "-ign_eof", "-msg",
            *extra]
    if resume is not None:
        args += ["-sess_in", resume]
    request = f"GET / HTTP/1.1\r\nHost: {servername}\r\nConnection: close\r\n\r\n".encode()
    proc = run(args, input=request, timeout=timeout, check=False)
    text = proc.stdout.decode(errors="replace")
    m = re.search(r"^(New|Reused), (TLSv[\d.]+)", text, re.M)
    if not m:
        raise HarnessError(f"s_client to {port} failed (exit {proc.returncode}):\n{text[-2000:]}\n"
                           f"{proc.stderr.decode(errors='replace')}")
    tickets, hint = parse_new_session_tickets(text)
    return TlsResult(m.group(1) == "Reused", m.group(2), tickets, hint, out, text)


def parse_new_session_tickets(msg_output: str) -> tuple[list[bytes], int | None]:
    """Tickets and the last lifetime hint from `s_client -msg` output (TLS 1.2 and 1.3)."""
    tickets, hint = [], None
    lines = msg_output.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"<<< (TLS 1\.[23]), Handshake \[length [0-9a-f]+\], NewSessionTicket", line)
        if not m:
            continue
        body = bytearray()
        for hexline in lines[i + 1:]:
            if not re.match(r"^\s+([0-9a-f]{2} ?)+\s*$", hexline):
                break
            body += bytes.fromhex(hexline)
        # Handshake header: type (1), length (3).
        msg = bytes(body[4:])
        if m.group(1) == "TLS 1.2":
            # lifetime_hint (4) | ticket length (2) | ticket
            hint = int.from_bytes(msg[0:4], "big")
            n = int.from_bytes(msg[4:6], "big")
            ticket = msg[6:6 + n]
        else:
            # lifetime (4) | age_add (4) | nonce (1 + n) | ticket (2 + n) | extensions
            hint = int.from_bytes(msg[0:4], "big")
            nonce_len = msg[8]
            pos = 9 + nonce_len
            n = int.from_bytes(msg[pos:pos + 2], "big")
            ticket = msg[pos + 2:pos + 2 + n]
        if ticket:
            tickets.append(bytes(ticket))
    return tickets, hint


def issued_under(port: int, workdir: Path, version: str, name: str, within: float = 2.0):
    """A fresh ticket from the server on `port` under key `name`, which it must use within
    `within` seconds (after a rotation the server may take a moment to reload)."""
    def fresh():
        r = tls_connect(port, workdir, version)
        return r if r.key_name == name else None
    return wait_until(fresh, within, what=f"the server on {port} encrypting under {name}")


def ticket_of_the_epoch(port: int, workdir: Path, version: str, names: dict[int, str],
                        interval: int, within: float = 10.0) -> tuple[int, TlsResult]:
    """(epoch, ticket): a fresh ticket from the server on port under the key that `names` (key
    name by epoch, from the ring) gives the epoch it was issued in. The epoch is read before
    and after the connection, which may cross a boundary on a loaded machine; after a
    boundary the server may take a moment to rotate and reload (bounded wait)."""
    def fresh():
        before = epoch(interval)
        r = tls_connect(port, workdir, version)
        for e in {before, epoch(interval)}:
            if r.key_name == names.get(e):
                return e, r
        return None
    return wait_until(fresh, within, what=f"the server on {port} encrypting under the "
                                          "current epoch's key")


def stops_resuming(port: int, directory: Path, version: str, session_file: Path,
                   within: float = 5.0) -> None:
    """Waits until the session in session_file no longer resumes on port. After a reload, nginx's
    old workers finish their connections and may still accept one or two new ones (seen: one
    in a few runs), under the keys they were started with; within seconds they are gone."""
    wait_until(lambda: not tls_connect(port, directory, version, resume=session_file).reused,
               within, what=f"the session in {session_file.name} no longer resuming")
