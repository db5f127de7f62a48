"""The API fuzzer against a real test daemon, and its slow and silent clients.

Every bad request gets a 4xx (a 501 for what pyctr does not implement, a 5xx only
from a registry route whose registry cannot be reached), every request an answer
(or, cut short on purpose, a close), never an HTTP/0.9 reply or a 500 inside a 200;
the daemon answers afterwards and `ps -a`/`images` are as before once what the
fuzzer legitimately created is removed. The seed is printed; PYCTR_FUZZ_SEED=N
repeats a run."""

from __future__ import annotations

import json
import os
import random
import socket
import ssl
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from certs import issue, make_ca
from harness import daemon_with_busybox, wait_for
from pyctr.engine.server.routes import ROUTES
from pyctr.engine.server.swarm import swarm_routes

from .client import Outcome, TLSAddress, exchange, request_bytes
from .generate import KEEP_LABEL, Case, Generator, Targets, raw_cases

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")

SEED = int(os.environ.get("PYCTR_FUZZ_SEED") or random.randrange(1 << 32))
HEADER_TIMEOUT = 2.0
IDLE_TIMEOUT = 4.0
ROUTE_CASES = 2400
TRANSFER_CASES = 300
UNKNOWN_CASES = 150
TIME_BUDGET = 120.0     # seconds for all the cases; what did not run by then is counted as skipped
UNREACHABLE = ("127.0.0.1:1", "connect", "unreachable", "refused")
# dockerd off-swarm answers every swarm route with a 503 (the docker CLI reads it as "not in a
# swarm"); those are the engine's documented answers, not failures.
SWARM_ROUTES = {f"{r.method} {r.path}" for r in swarm_routes()}
SWARM_WORDS = ("not a swarm manager", "not part of a swarm", "no swarm mode")


@pytest.fixture(scope="module")
def fuzz_daemon(tmp_path_factory, busybox_tar):
    with daemon_with_busybox(str(tmp_path_factory.mktemp("pyctrd-fuzz")), busybox_tar,
                             ["--header-timeout", str(HEADER_TIMEOUT), "--idle-timeout", str(IDLE_TIMEOUT),
                              "--body-timeout", str(HEADER_TIMEOUT)]) as d:
        yield d


def verdict(case: Case, out: Outcome) -> str:
    """"" when the answer is right for the case, else what is wrong with it."""
    if out.problem == "no answer":
        return "never answered (the connection stayed open)"
    if out.problem:
        return out.problem
    if out.status is None:
        return "" if case.may_close else "closed without an answer"
    if b"HTTP/1.1 500" in out.body or b"HTTP/1.0 500" in out.body:
        return "a 500 status line inside the body"
    if case.must_be_4xx and not 400 <= out.status < 500:
        return f"malformed on purpose but answered {out.status}"
    if out.status >= 500 and out.status != 501:
        if out.status == 503 and case.label in SWARM_ROUTES and any(w in out.message() for w in SWARM_WORDS):
            return ""
        if case.network_route and any(word in out.message() for word in UNREACHABLE):
            return ""
        return f"{out.status}: {out.message()}"
    return ""


def run_cases(path: str, cases: list[Case], budget: float) -> tuple[list[tuple[Case, Outcome]], int]:
    deadline = time.monotonic() + budget

    def one(case: Case) -> tuple[Case, Outcome] | None:
        if time.monotonic() > deadline:
            return None
        return case, exchange(path, case.data, half_close=case.half_close, pieces=case.pieces,
                              answer_timeout=case.answer_timeout)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, cases))
    done = [r for r in results if r is not None]
    return done, len(results) - len(done)


def figures(results: list[tuple[Case, Outcome]]) -> str:
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for case, out in results:
        by_kind[case.kind][str(out.status) if out.status else ("closed" if out.closed else out.problem)] += 1
    lines = []
    for kind in sorted(by_kind):
        counts = by_kind[kind]
        lines.append(f"  {kind:16} {sum(counts.values()):5}  " +
                     ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    return "\n".join(lines)


def state(daemon) -> tuple[set[str], set[tuple[str, tuple[str, ...]]]]:
    client = daemon.client()
    containers = {c["Id"] for c in client.json("GET", "/containers/json", {"all": 1})}
    images = {(i["Id"], tuple(sorted(i.get("RepoTags") or []))) for i in client.json("GET", "/images/json")}
    return containers, images


def layers(daemon) -> set[str]:
    where = os.path.join(daemon.root, "graph", "layers")
    return set(os.listdir(where)) if os.path.isdir(where) else set()


def pruned(results: list[tuple[Case, Outcome]], route: str, key: str) -> set[str]:
    """What the fuzzer's prunes that succeeded removed (a legitimate removal, as a create
    answered 201 is a legitimate addition)."""
    gone: set[str] = set()
    for case, out in results:
        if case.label == route and out.status == 200:
            try:
                report = json.loads(out.body)
            except ValueError:
                continue
            gone |= {entry if isinstance(entry, str) else entry.get("Deleted", "")
                     for entry in report.get(key) or []}
    return gone


def test_fuzz_every_route(fuzz_daemon):
    print(f"\nfuzz seed {SEED} (PYCTR_FUZZ_SEED={SEED} repeats this run)")
    _, images_before = state(fuzz_daemon)
    layers_before = layers(fuzz_daemon)
    keep = ["--label", f"{KEEP_LABEL}=1"]
    fuzz_daemon.docker("create", "--name", "fuzzbox", *keep, "busybox", "true")
    fuzz_daemon.docker("run", "-d", "--name", "fuzzrun", *keep, "busybox", "sleep", "3600")
    containers_before, _ = state(fuzz_daemon)
    targets = Targets(container="fuzzbox", running="fuzzrun")
    gen = Generator(SEED, ROUTES, targets)
    cases = ([gen.route_case(i) for i in range(ROUTE_CASES)]
             + [gen.transfer_case(i) for i in range(TRANSFER_CASES)]
             + [gen.unknown_case(i) for i in range(UNKNOWN_CASES)] + raw_cases(SEED))
    random.Random(SEED).shuffle(cases)
    started = time.monotonic()
    results, skipped = run_cases(fuzz_daemon.socket, cases, TIME_BUDGET)
    elapsed = time.monotonic() - started
    print(f"{len(results)} requests in {elapsed:.1f} s ({skipped} not run within {TIME_BUDGET:.0f} s):")
    print(figures(results))
    for case, out in results:
        if out.status and out.status >= 500 and out.status != 501:
            print(f"  allowed {out.status} [{case.kind}] {case.label}: {out.message()[:160]}")
    wrong = [(case, out, why) for case, out in results if (why := verdict(case, out))]
    report = "\n".join(f"  [{case.kind}] {case.label}: {why}\n    sent {case.data[:200]!r}"
                       for case, out, why in wrong[:40])

    # No generated value made the daemon look a host name up (only 127.0.0.1 may be reached).
    resolved = [line for line in fuzz_daemon.log().splitlines()
                if "Name or service not known" in line or "name resolution" in line]
    assert not resolved, f"seed {SEED}: the daemon tried to resolve a name: {resolved[:3]}"
    # The daemon still answers, and holds nothing the fuzzer did not legitimately make.
    assert fuzz_daemon.client().ping()
    containers_after, images_after = state(fuzz_daemon)
    created = {json.loads(out.body)["Id"] for case, out in results
               if case.label == "POST /containers/create" and out.status == 201}
    # Every container there is one a create announced (a refused create made nothing) or
    # was there before; of those, only prunes the fuzzer sent may have removed one. (The
    # fuzzer's own creates may also go by its removes, starts with AutoRemove, prunes.)
    removed = pruned(results, "POST /containers/prune", "ContainersDeleted")
    new_containers = containers_after - containers_before
    assert new_containers <= created, f"containers no create announced: {new_containers - created}"
    gone = containers_before - containers_after - removed
    assert not gone, "a fuzz target went, by no prune; what succeeded on the targets:\n" + "\n".join(
        f"  {out.status} {case.data[:300]!r}" for case, out in results
        if out.status and out.status < 300 and (b"fuzzbox" in case.data or b"fuzzrun" in case.data
                                                or case.data.startswith(b"DELETE")))
    for cid in new_containers:   # each is whole: inspect and remove work
        assert fuzz_daemon.client().inspect_container(cid)["Id"] == cid
        fuzz_daemon.docker("rm", "-f", cid)
    assert state(fuzz_daemon)[0] == containers_after - new_containers
    print(f"containers: {len(created)} created (201), {len(new_containers)} still there, "
          f"{len(removed)} pruned, {len(containers_before & removed)} of them fuzzbox/fuzzrun")
    fuzz_daemon.docker("rm", "-f", *sorted(containers_before & containers_after))
    new_images = {iid for iid, _ in images_after} - {iid for iid, _ in images_before}
    for iid in new_images:   # commits of fuzzbox
        fuzz_daemon.docker("rmi", "-f", iid)
    for iid, tags in images_after - images_before:   # tags the fuzzer added to busybox
        for tag in set(tags) - {t for i, ts in images_before if i == iid for t in ts}:
            if iid not in new_images:
                fuzz_daemon.docker("rmi", tag)
    assert state(fuzz_daemon)[1] == images_before
    # and the storage holds the layers of the images, no container's, no half-made one's
    assert layers(fuzz_daemon) == layers_before, (layers(fuzz_daemon) ^ layers_before)
    assert not wrong, f"seed {SEED}: {len(wrong)} wrong answers:\n{report}"
    assert len(results) >= 0.9 * len(cases), f"only {len(results)} of {len(cases)} ran in time"


def test_silent_and_slow_clients_are_closed_and_do_not_block_others(fuzz_daemon):
    path = fuzz_daemon.socket
    silent = []
    for _ in range(50):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        silent.append(s)
    # a slow-loris head: a byte at a time, never finished
    slow_answers: list[Outcome] = []

    def slowloris() -> None:
        head = b"GET /_ping HTTP/1.1\r\nHost: pyctr\r\nX-Slow: " + b"y" * 40
        pieces = [(head[i:i + 1], 0.1) for i in range(len(head))]
        slow_answers.append(exchange(path, b"", pieces=pieces, answer_timeout=20))

    threads = [threading.Thread(target=slowloris) for _ in range(5)]
    for t in threads:
        t.start()
    # meanwhile the daemon answers others at once
    for _ in range(20):
        out = exchange(path, request_bytes("GET", "/_ping"), answer_timeout=5)
        assert out.status == 200, out
        assert out.answered_in < HEADER_TIMEOUT, out.answered_in
    # a slow head that completes within the header timeout is served
    ok_head = request_bytes("GET", "/version")
    third = len(ok_head) // 3
    out = exchange(path, b"", pieces=[(ok_head[:third], 0), (ok_head[third:2 * third], 0.3),
                                      (ok_head[2 * third:], 0.3)])
    assert out.status == 200, out
    # a slow body is served once it is all there; one that stops arriving ends in a 408
    body = b'{"Image": "nosuchimage"}'
    head = request_bytes("POST", "/containers/create", {}, body)[:-len(body)]
    out = exchange(path, b"", pieces=[(head, 0), (body[:5], 0.5), (body[5:10], 1.0), (body[10:], 1.0)])
    assert out.status == 404, out
    out = exchange(path, b"", pieces=[(head, 0), (body[:5], 0.5)])
    assert out.status == 408 and b"stopped arriving" in out.body, out
    for t in threads:
        t.join()
    assert [o.status for o in slow_answers] == [408] * 5, slow_answers
    # the silent ones were closed by the header timeout, without a word
    for s in silent:
        s.settimeout(HEADER_TIMEOUT + 10)
        assert s.recv(100) == b""
        s.close()


def test_idle_keepalive_connection_is_closed_after_the_idle_timeout(fuzz_daemon):
    s = socket.socket(socket.AF_UNIX)
    s.connect(fuzz_daemon.socket)
    try:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: pyctr\r\n\r\n")
        s.settimeout(10)
        answer = b""
        while not answer.endswith(b"OK"):
            answer += s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        answered = time.monotonic()
        # kept alive past the header timeout (the connection is idle, not sending a head) ...
        s.settimeout(IDLE_TIMEOUT + 10)
        assert s.recv(100) == b""
        # ... and closed after the idle timeout
        assert time.monotonic() - answered >= IDLE_TIMEOUT - 0.5
    finally:
        s.close()
    wait_for(lambda: fuzz_daemon.client().ping())


# ---- the same over a TLS listener (--tlsverify): the fuzz behind a handshake, and what
# only TLS has (a client that never says hello, garbage for a hello, no certificate) --------

@pytest.fixture(scope="module")
def tls_fuzz_daemon(tmp_path_factory, busybox_tar):
    pki = str(tmp_path_factory.mktemp("fuzz-pki"))
    ca, ca_cert, ca_key = make_ca(pki, "ca")
    server = issue(pki, "server", ca_cert, ca_key, server=True)
    client = issue(pki, "client", ca_cert, ca_key, server=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flags = ["--header-timeout", str(HEADER_TIMEOUT), "--idle-timeout", str(IDLE_TIMEOUT),
             "--body-timeout", str(HEADER_TIMEOUT), "-H", f"tcp://127.0.0.1:{port}", "--tlsverify",
             "--tlscacert", ca.cert, "--tlscert", server.cert, "--tlskey", server.key]
    with daemon_with_busybox(str(tmp_path_factory.mktemp("pyctrd-tls-fuzz")), busybox_tar, flags) as d:
        context = ssl.create_default_context(cafile=ca.cert)
        context.load_cert_chain(client.cert, client.key)
        bare = ssl.create_default_context(cafile=ca.cert)   # a client without a certificate
        d.tls, d.tls_bare, d.tls_port = TLSAddress(port, context), TLSAddress(port, bare), port
        yield d


def test_fuzz_over_tls(tls_fuzz_daemon):
    """Every route and the raw cases again, each on its own TLS connection (a handshake
    with a client certificate first); the same verdicts as over the unix socket."""
    d = tls_fuzz_daemon
    d.docker("create", "--name", "fuzzbox", "busybox", "true")
    d.docker("run", "-d", "--name", "fuzzrun", "busybox", "sleep", "3600")
    gen = Generator(SEED + 1, ROUTES, Targets(container="fuzzbox", running="fuzzrun"))
    cases = ([gen.route_case(i) for i in range(ROUTE_CASES // 4)]
             + [gen.transfer_case(i) for i in range(TRANSFER_CASES // 4)] + raw_cases(SEED + 1))
    cases = [c for c in cases if not c.half_close]   # a half close is not TLS's to give
    random.Random(SEED).shuffle(cases)
    results, _ = run_cases(d.tls, cases, TIME_BUDGET / 2)
    print(f"\nover TLS, seed {SEED + 1}: {len(results)} requests\n{figures(results)}")
    wrong = [(case, out, why) for case, out in results if (why := verdict(case, out))]
    assert d.client().ping()
    assert not wrong, "\n".join(f"  [{c.kind}] {c.label}: {why}" for c, _, why in wrong[:40])
    assert len(results) >= 0.9 * len(cases)
    d.docker("rm", "-f", *[c["Id"] for c in d.client().json("GET", "/containers/json", {"all": 1})])


def test_tls_clients_that_never_finish_a_handshake_are_closed_and_block_no_one(tls_fuzz_daemon):
    d = tls_fuzz_daemon
    silent, garbage = [], []
    for _ in range(30):   # TCP, then not a byte of a ClientHello
        silent.append(socket.create_connection(("127.0.0.1", d.tls_port), 5))
    for i in range(10):   # bytes that are no TLS record, or half a ClientHello
        s = socket.create_connection(("127.0.0.1", d.tls_port), 5)
        s.sendall(b"GET /_ping HTTP/1.1\r\n\r\n" if i % 2 else bytes.fromhex("160301020001"))
        garbage.append(s)
    # meanwhile a real client is answered at once
    for _ in range(10):
        out = exchange(d.tls, request_bytes("GET", "/_ping"), answer_timeout=5)
        assert out.status == 200, out
        assert out.answered_in < HEADER_TIMEOUT, out.answered_in
    # one without a client certificate gets no API (the handshake or the first read fails)
    out = exchange(d.tls_bare, request_bytes("GET", "/_ping"), answer_timeout=10)
    assert out.status is None, out
    # the silent and the garbled are all closed by the daemon, none served
    for s in silent + garbage:
        s.settimeout(HEADER_TIMEOUT + 20)
        try:
            while data := s.recv(4096):
                assert not data.startswith(b"HTTP/"), data
        except (ConnectionResetError, socket.timeout) as exc:
            assert isinstance(exc, ConnectionResetError), "a silent TLS client was never closed"
        s.close()
    wait_for(lambda: d.client().ping())
