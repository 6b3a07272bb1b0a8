"""What the interop matrix expects of each cell, and why: the documented limits of products
and clients, each note filled with the numbers the run measured. judge() turns the probes'
results into cells, notes and the list of cells that broke their expectation."""

from __future__ import annotations

from interop_doc import cell

# Servers that keep a session cache of their own (per process) besides tickets, as the test
# configures them: HAProxy's default cache, h2o's `mode: all`, the example server's OpenSSL
# default. nginx (ssl_session_cache off), Apache (SSLSessionCache none) and Traffic Server
# (proxy.config.ssl.session_cache 0) keep none.
SESSION_CACHE = {"haproxy", "h2o", "libstek"}

NOTES = {
    "haproxy":
        "HAProxy holds {slots} ticket keys (previous, current, next: the {slots} lines of the "
        "sink's file, which test_agent_haproxy.py checks against `show tls-keys`), so a "
        "ticket resumes in its own interval and the next one only; offered after ≥{rotations} rotations (ticket age {age}) it found no "
        "key: resumed {resumed}/{tried}. stek's ring still held that key (H = {history}).",
    "apache":
        "Apache httpd has one ticket key and no decrypt-only history: every rotation (the "
        "agent's graceful restart on the new key) ends resumption of older tickets; offered "
        "after ≥{rotations} rotations (ticket age {age}): resumed {resumed}/{tried}. Within "
        "an epoch its tickets resume on the other host, once both virtual hosts name the same "
        "`ServerName host:port` (mod_ssl binds sessions to it). Measured while building this "
        "test, with each virtual host on its own port and no ServerName: 0 of 16 resumed "
        "on the other host, 2 of 2 (openssl, one key file) on the same host.",
    "curl12":
        "curl 7.88 (OpenSSL backend) sends no session ticket in TLS 1.2: {ticket} of {tried} "
        "of its resuming ClientHellos carried one, {sid} carried a session ID. It resumes "
        "only from the server's own session cache, which is per process: on the same host "
        "for servers that keep one (HAProxy, h2o, the libstek example server; resumed "
        "{cache_resumed}/{cache_tried}), never on another host nor where tickets are the only "
        "store (nginx, Apache, Traffic Server as configured here). Not a ticket resumption.",
}


def limit(p: str, c: str, v: str, s: str) -> tuple[bool, str | None]:
    """(whether the second connection should resume, the note that explains a limit)."""
    if s == "other domain":
        return False, None  # never across domains
    if c == "curl" and v == "1.2":
        return s == "rotations" and p in SESSION_CACHE, "curl12"
    if s == "rotations" and p in ("haproxy", "apache"):
        return False, p
    return True, None


def _fill(key: str, group: list[dict], params: dict) -> str:
    ages = [r["age"] for r in group if r["age"] is not None]
    offers = [r["offers"] or {} for r in group]
    cache = [r for r in group if r["cell"][3] == "rotations" and r["cell"][0] in SESSION_CACHE]
    return NOTES[key].format(
        **params, age=f"{min(ages):.0f}-{max(ages):.0f} s" if ages else "?",
        resumed=sum(1 for r in group if r["resumed"]), tried=len(group),
        ticket=sum(1 for o in offers if o.get("ticket")),
        sid=sum(1 for o in offers if o.get("session_id")),
        cache_resumed=sum(1 for r in cache if r["resumed"]), cache_tried=len(cache))


def judge(results: dict, params: dict) -> tuple[dict, list[str], list[str]]:
    """results[(product, client, version, scenario)] = [probe result, ...]."""
    problems, groups, where = [], {}, {}
    for k, rs in results.items():
        for r in rs:
            r["cell"] = k
        _, key = limit(*k)
        if key:
            groups.setdefault(key, []).extend(rs)
    notes = []
    for key in sorted(groups):
        notes.append(_fill(key, groups[key], params))
        where[key] = len(notes)
    cells = {}
    for k, rs in sorted(results.items()):
        p, c, v, s = k
        expected, key = limit(*k)
        name = f"{p} {c} TLS {v} {s}"
        for r in rs:
            if r["error"]:
                problems.append(f"{name}: {r['error']}")
            if r["first"] is not False:
                problems.append(f"{name}: first connection resumed or unseen ({r['first']})")
            if r["claim"] is not None and r["resumed"] is not None \
                    and r["claim"] != r["resumed"]:
                problems.append(f"{name}: the client says resumed={r['claim']}, the server's "
                                f"first flight {r['resumed']}")
        got = [bool(r["resumed"]) for r in rs]
        if got != [expected] * len(rs):
            problems.append(f"{name}: resumed {sum(got)}/{len(rs)}, expected "
                            f"{'all' if expected else 'none'}")
        cells[k] = cell(rs, s, expected, where.get(key))
    ages = [r["age"] for k, rs in results.items() if k[3] == "rotations" for r in rs
            if r["age"] is not None]
    if ages:
        notes.append(f"Ticket age at the second connection of the rotation columns: "
                     f"{min(ages):.0f}-{max(ages):.0f} s (≥{params['rotations']} intervals of "
                     f"{params['interval']} s; lifetime hint {params['lifetime']} s).")
    return cells, notes, problems
