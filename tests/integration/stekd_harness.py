"""The name bench/fanout.py imports stekd's launcher by; the launcher is stektest.stekd."""

from stektest.pki import DEFAULT_HOSTS, make_pki  # noqa: F401
from stektest.stekd import Stekd  # noqa: F401
