"""Fixtures for the network driver tests: a bridge name and subnet of the test's
own, network namespaces to plug veths into, and a check that nothing (link, rule,
chain) of the test's bridge is left, also when the test fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import iptables_lines_about, link_exists, pick_network, remove_network  # noqa: E402

if os.geteuid() != 0:
    pytest.skip("netlink and iptables need root", allow_module_level=True)


@dataclass
class TestNet:
    bridge: str
    bip: str        # "10.x.y.1/24"


def leftovers(bridge: str) -> list[str]:
    found = [f"link {bridge}"] if link_exists(bridge) else []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [f"link on {bridge}: {l}" for l in links.splitlines() if f"master {bridge} " in l]
    return found + iptables_lines_about(bridge)


@pytest.fixture
def testnet():
    bridge, bip = pick_network()
    net = TestNet("pyn" + bridge[3:], bip)
    yield net
    left = leftovers(net.bridge)
    remove_network(net.bridge)
    assert not left, f"left behind: {left}"


@pytest.fixture
def netns_process():
    """Processes each in a new network namespace (with lo down), killed at the end."""
    procs: list[subprocess.Popen] = []

    def start() -> int:
        proc = subprocess.Popen(["unshare", "--net", "sleep", "120"])
        procs.append(proc)
        deadline = time.monotonic() + 5
        me = os.readlink("/proc/self/ns/net")
        while os.readlink(f"/proc/{proc.pid}/ns/net") == me:   # unshare has not run yet
            if time.monotonic() > deadline:
                raise RuntimeError("unshare did not make a namespace")
            time.sleep(0.005)
        return proc.pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def in_netns(pid: int, *argv: str) -> str:
    return subprocess.run(["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True,
                          check=True).stdout
