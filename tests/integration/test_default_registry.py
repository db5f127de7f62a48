"""`pyctrd --default-registry none` (what every test daemon runs with): a missing
unqualified image fails at once with a clear message, without a DNS query or any
connection off the machine; qualified names still go to their registry.

The proof is the daemon's own system calls: strace follows every thread of the daemon
(aiohttp resolves names in worker threads) and records each connect/sendto/sendmsg."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess

import pytest

from harness import start_with_busybox, wait_for
from pyctr.engine.client.api import APIError
from pyctr.engine.registry import endpoints
from pyctr.engine.registry.errors import NoDefaultRegistry

CLEAR = "no default registry (--default-registry none)"


def test_the_hub_has_no_endpoints_when_the_default_registry_is_off():
    off = endpoints.RegistryConfig(mirrors=["http://127.0.0.1:6000/"], default_registry=False)
    with pytest.raises(NoDefaultRegistry, match="--default-registry none"):
        off.endpoints(endpoints.HUB_INDEX)
    with pytest.raises(NoDefaultRegistry, match="busybox:nope"):
        off.require_registry(endpoints.repository_info("busybox").index, "busybox:nope")
    assert off.endpoints("127.0.0.1:5000") == [endpoints.Endpoint("https://127.0.0.1:5000", True),
                                               endpoints.Endpoint("http://127.0.0.1:5000", True)]
    off.require_registry("127.0.0.1:5000", "127.0.0.1:5000/x")   # qualified: allowed
    on = endpoints.RegistryConfig()
    assert on.endpoints(endpoints.HUB_INDEX)[-1].url == endpoints.HUB_REGISTRY


class Trace:
    """strace attached to a running daemon (all its threads, and any it starts)."""

    def __init__(self, pid: int, path: str) -> None:
        self.path = path
        self.log = path + ".stderr"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                ["strace", "-f", "-e", "trace=connect,sendto,sendmsg",
                 "-o", path, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=err)
        # "Process N attached with M threads" comes once every thread is traced
        wait_for(lambda: f"Process {pid} attached" in self._stderr(), timeout=30)

    def _stderr(self) -> str:
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)   # detaches; the daemon goes on
            self.proc.wait(30)
        with open(self.path, errors="replace") as f:
            return f.read()


def off_machine(trace: str) -> list[str]:
    """Calls that name an address other than loopback, port 53, or the nscd socket
    (glibc's resolver asks nscd first)."""
    bad = []
    for line in trace.splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        ports = re.findall(r"sin6?_port=htons\((\d+)\)", line)
        v4 = re.findall(r'inet_addr\("([\d.]+)"\)', line)
        v6 = re.findall(r'inet_pton\(AF_INET6, "([^"]+)"', line)
        if ("53" in ports or "nscd" in line or any(not a.startswith("127.") for a in v4)
                or any(a not in ("::1", "::ffff:127.0.0.1") for a in v6)):
            bad.append(line)
    return bad


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace (scripts/setup.sh installs it)")
def test_a_missing_unqualified_image_fails_at_once_without_a_query(tmp_path, busybox_tar):
    daemon = start_with_busybox(str(tmp_path / "d"), busybox_tar)
    trace = None
    try:
        assert "--default-registry" in " ".join(daemon.proc.args)   # the harness's default
        trace = Trace(daemon.proc.pid, str(tmp_path / "strace.out"))

        # the API refuses before any progress stream starts: a plain 404 with the reason
        with pytest.raises(APIError) as refused:
            daemon.client().pull("busybox", "nope")
        assert refused.value.status == 404 and "busybox:nope" in str(refused.value)
        assert CLEAR in str(refused.value)

        pull = daemon.docker("pull", "nope", check=False)
        assert pull.returncode != 0 and CLEAR in pull.stderr.decode(), pull.stderr
        run = daemon.docker("run", "--rm", "nope", check=False)
        assert run.returncode != 0 and CLEAR in run.stderr.decode(), run.stderr
        own = daemon.pyctr("run", "--rm", "nope", check=False)
        assert own.returncode != 0 and CLEAR in own.stderr.decode(), own.stderr
        build = daemon.pyctr("build", "-", input=b"FROM nope\n", check=False)
        text = build.stderr.decode() + build.stdout.decode()
        assert build.returncode != 0 and "No such image: nope" in text and CLEAR in text, text
        # scratch is the empty base (issue 22): never pulled, and a build of it builds
        build = daemon.pyctr("build", "-t", "empty/scratch", "-", input=b"FROM scratch\nENV EMPTY=1\n", check=False)
        assert build.returncode == 0 and "Successfully built" in build.stdout.decode(), build.stderr

        # a qualified name still goes to its registry: a closed port on loopback, which the
        # trace must show (so the trace does see the daemon's connections)
        with pytest.raises(APIError):
            daemon.client().pull("127.0.0.1:9/no/such", "latest").read()
        calls = trace.stop()
        assert re.search(r'connect\(.*sin_port=htons\(9\).*inet_addr\("127\.0\.0\.1"\)', calls), calls
        assert not off_machine(calls), off_machine(calls)
        assert daemon.client().images(filters={"dangling": ["true"]}) == []
    finally:
        if trace is not None:
            trace.stop()
        try:
            daemon.stop()
        finally:
            left = daemon.leftovers()
            daemon.cleanup_by_force()
        assert not left, left


def test_the_default_stays_docker_hub(tmp_path):
    """Without the flag an unqualified name is Docker Hub's (as Docker): the config says
    so, and nothing is contacted to show it."""
    from pyctr.engine.main import parse_args
    config, _ = parse_args(["-H", f"unix://{tmp_path}/s.sock"])
    assert config.default_registry == "docker.io"
    config, _ = parse_args(["--default-registry", "none"])
    assert config.default_registry == "none"


def test_the_trace_check_sees_a_dns_query_and_a_remote_address():
    """The checker itself (on strace's own format), so the test above can fail."""
    dns = 'connect(7, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0'
    remote = 'connect(8, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), ' \
             'inet_pton(AF_INET6, "2a03:2880::1", &sin6_addr), sin6_scope_id=0}, 28) = -1'
    nscd = 'connect(9, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT'
    local = 'connect(10, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = -1'
    assert off_machine("\n".join([dns, remote, nscd, local])) == [dns, remote, nscd]
