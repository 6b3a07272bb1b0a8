"""stek's Python harness: the parts that integration tests and the local fleet (scripts/fleet.py)
are made of. Everything here runs real programs from Debian packages (nginx, HAProxy, openssl)
and stek's own binaries, on 127.0.0.1 only, with bounded waits. Nothing is mocked.

    proc     where stek's programs are, run(), Process, free ports, bounded waits
    pki      the development PKI (`stekctl pki init/issue`) and the web servers' certificate
    stekd    stekd launcher and HTTPS client with client certificates
    agent    stek-agent launcher, its configuration and tmpfs directories
    nginx    nginx launcher;  haproxy: HAProxy launcher
    apache   Apache httpd launcher;  ats: Traffic Server launcher (traffic_manager, own runroot)
    ring     role(), ring builder from `stekctl derive`, key-bytes leak check
    tls      the resumption check with `openssl s_client`
    metrics  Prometheus text
    faketime a program whose wall clock is off (libfaketime, sanitizer-aware LD_PRELOAD)
    fleet    stekd + hosts (stek-agent + nginx): the local fleet
    debs     stek's Debian packages of the build, packed once and shared by the tests
    freshroot a fresh Debian 12 root (debootstrap) to install the packages into and run them

The names below are the ones tests import as `from stektest import ...`.
"""

from .haproxy import HAPROXY_CONF, Haproxy
from .nginx import Nginx
from .pki import make_cert, make_pki, shared_cert
from .proc import (BUILD_DIR, LOOPBACK, SOURCE_DIR, HarnessError, Process, accepts, binary,
                   free_port, have, run, stekctl, wait_for_port, wait_until)
from .tls import (TlsResult, issued_under, parse_new_session_tickets, stops_resuming,
                  ticket_of_the_epoch, tls_connect)

__all__ = [
    "BUILD_DIR", "HAPROXY_CONF", "Haproxy", "HarnessError", "LOOPBACK", "Nginx",
    "Process", "SOURCE_DIR", "TlsResult", "accepts", "binary", "free_port", "have",
    "issued_under", "make_cert", "make_pki", "parse_new_session_tickets", "run", "shared_cert",
    "stekctl", "stops_resuming", "tls_connect", "wait_for_port", "wait_until",
]
