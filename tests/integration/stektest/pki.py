"""Certificates: stek's development PKI (CA, stekd, admin and host certificates, KEK) made by
`stekctl pki init/issue`, and the web certificate the TLS servers under test present."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .proc import run, stekctl

# The hosts the stekd tests authorise: two domains of two hosts, and one host of a domain
# stekd does not serve.
DEFAULT_HOSTS = {"web1": ["eu-west"], "web2": ["eu-west"], "web3": ["us-east"],
                 "web4": ["us-east"], "stranger": ["nowhere"]}


def make_pki(directory: Path, hosts: dict[str, list[str]] | None = None,
             build_dir: Path | None = None) -> Path:
    """A development PKI in directory with a certificate host-NAME.crt/.key per host. An
    existing PKI is kept (a persistent fleet reuses its KEK and state); hosts named in `hosts`
    that it lacks get their certificates from its CA. Without `hosts`, a new PKI is made for
    DEFAULT_HOSTS and an existing one is left as it is."""
    if hosts is None:
        if (directory / "ca.key").exists():
            return directory
        hosts = DEFAULT_HOSTS

    def spec(host: str) -> str:
        return f"{host}={','.join(hosts[host])}"

    if not (directory / "ca.key").exists():
        args = ["pki", "init", "--dir", directory, "--force"]
        for host in hosts:
            args += ["--host", spec(host)]
        stekctl(*args, build_dir=build_dir)
        return directory
    for host in hosts:
        if not (directory / f"host-{host}.crt").exists():
            stekctl("pki", "issue", "--dir", directory, "--host", spec(host),
                    build_dir=build_dir)
    return directory


def make_cert(directory: Path, name: str = "localhost", ca: tuple[Path, Path] | None = None,
              san: str | None = None, days: int = 2) -> tuple[Path, Path]:
    """A P-256 certificate and key for 127.0.0.1/localhost (self-signed unless ca given)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / f"{name}.key"
    cert = directory / f"{name}.crt"
    san = san or "DNS:localhost,IP:127.0.0.1"
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", key])
    if ca is None:
        run(["openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", str(days),
             "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"])
    else:
        csr = directory / f"{name}.csr"
        ext = directory / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        run(["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={name}"])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
             "-CAcreateserial", "-out", cert, "-days", str(days), "-extfile", ext])
    key.chmod(0o600)
    return cert, key


_shared_cert: tuple[Path, Path] | None = None


def shared_cert() -> tuple[Path, Path]:
    """One certificate for every server a test process starts. nginx (and OpenSSL's session
    id context generally) binds sessions to the certificate, so hosts that must resume each
    other's tickets serve the same certificate, as a real fleet does."""
    global _shared_cert
    if _shared_cert is None:
        _shared_cert = make_cert(Path(tempfile.mkdtemp(prefix="stek-cert-")))
    return _shared_cert


CA_CONF = """\
# Written by stek's Python harness: `openssl ca` state for revoking certificates of the PKI.
[ca]
default_ca = stek_ca
[stek_ca]
database = {db}/index.txt
crlnumber = {db}/crlnumber
certificate = {pki}/ca.crt
private_key = {pki}/ca.key
default_md = sha256
default_crl_days = 30
"""


def make_crl(pki: Path, revoked=(), out: Path | None = None) -> Path:
    """A CRL of the PKI's CA (PEM, valid 30 days) listing the certificates named in `revoked`
    ("host-web1" for pki/host-web1.crt), made with `openssl ca` as an operator would. Written to
    `out` (default pki/crl.pem) atomically, so a server never reads half of it."""
    out = out or pki / "crl.pem"
    db = Path(tempfile.mkdtemp(prefix="stek-ca-db-"))
    (db / "index.txt").write_text("")
    (db / "crlnumber").write_text("01\n")
    conf = db / "ca.cnf"
    conf.write_text(CA_CONF.format(db=db, pki=pki.resolve()))
    for name in revoked:
        run(["openssl", "ca", "-batch", "-config", conf, "-revoke", pki / f"{name}.crt"])
    tmp = out.with_name(out.name + ".tmp")
    run(["openssl", "ca", "-batch", "-config", conf, "-gencrl", "-out", tmp])
    os.replace(tmp, out)
    shutil.rmtree(db, ignore_errors=True)
    return out
