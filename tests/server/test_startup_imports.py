"""The start-up import budget. What pyctrd imports before its socket answers `/_ping`
(main.py and early.py) leaves out aiohttp, which is imported in a thread once the socket
answers; what the app imports when it takes over (its route table) leaves out the daemon
and its drivers, imported in a thread after that. Not a timing: lists of modules that
must not be imported eagerly, and bounds on how many of pyctr's own are."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from pyctr.engine.jobs import Engine, Job, JobArgs

# Each of these costs tens of milliseconds or more to import, and no /_ping needs it.
FORBIDDEN = [
    "pyroute2", "sqlite_utils", "dateutil",
    "pyctr.engine.daemon.daemon", "pyctr.engine.daemon.handlers", "pyctr.engine.daemon.lifecycle",
    "pyctr.engine.daemon.create", "pyctr.engine.daemon.start", "pyctr.engine.daemon.network",
    "pyctr.engine.graph.graph", "pyctr.engine.graph.graphdb", "pyctr.engine.graphdriver",
    "pyctr.engine.execdriver", "pyctr.engine.libcontainer", "pyctr.engine.networkdriver",
    "pyctr.engine.volumedriver", "pyctr.engine.builder", "pyctr.engine.registry",
    "pyctr.engine.archive", "pyctr.engine.server.containers", "pyctr.engine.server.images",
    "pyctr.engine.server.build", "pyctr.engine.server.tarballs", "pyctr.engine.server.exec",
    "pyctr.engine.server.wire", "pyctr.engine.server.shapes", "pyctr.engine.api.records",
    "pyctr.engine.daemon.args",
]
# ... and before the first answer, the web framework and what only the app needs too:
# importing aiohttp is most of a start's time (0.1 s and more).
FORBIDDEN_BEFORE_THE_FIRST_ANSWER = FORBIDDEN + [
    "aiohttp", "yarl", "multidict", "pyctr.engine.server.app", "pyctr.engine.server.routes",
    "pyctr.engine.server.router", "pyctr.engine.server.connections", "pyctr.engine.server.lazy",
    "pyctr.engine.server.ping"]
# pyctr's own modules loaded before the app serves (26 with early.py, limits.py and
# barepackage.py) and
# before the first answer (18, with the address pool flag's two).
MAX_OWN_MODULES = 27
MAX_OWN_MODULES_BEFORE_THE_FIRST_ANSWER = 20

FIRST_ANSWER_PROBE = """
import json, sys
import pyctr.engine.main
pyctr.engine.main.parse_args(["--default-address-pool", "base=10.100.0.0/19,size=24", "-b", "pyt0",
                              "--bip", "10.201.3.1/24", "--fixed-cidr", "10.201.3.0/25"])
print(json.dumps(sorted(sys.modules)))
"""
PROBE = FIRST_ANSWER_PROBE.replace("import pyctr.engine.main\n", """import pyctr.engine.main
pyctr.engine.main.prepare_imports()
from pyctr.engine.jobs import Engine
from pyctr.engine.server.app import build_app
build_app(Engine())
""")


def startup_modules(probe: str = PROBE) -> list[str]:
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# --default-address-pool is checked as the flags are parsed: with the (empty) package only
ALLOWED = {"pyctr.engine.networkdriver", "pyctr.engine.networkdriver.addrpool"}


def _eager(modules: list[str], forbidden: list[str]) -> list[str]:
    return [name for name in modules if name not in ALLOWED
            and any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_the_first_answer_needs_no_aiohttp():
    modules = startup_modules(FIRST_ANSWER_PROBE)
    assert _eager(modules, FORBIDDEN_BEFORE_THE_FIRST_ANSWER) == []
    own = [name for name in modules if name.startswith("pyctr.")]
    assert len(own) <= MAX_OWN_MODULES_BEFORE_THE_FIRST_ANSWER, own


def test_startup_imports_stay_within_budget():
    modules = startup_modules()
    eager = _eager(modules, FORBIDDEN)
    assert eager == [], f"imported before the app serves: {eager}"
    own = [name for name in modules if name.startswith("pyctr.")]
    assert len(own) <= MAX_OWN_MODULES, own


def test_the_budget_catches_an_eager_import():
    """The probe sees what a module drags in: importing the daemon shows up."""
    out = subprocess.run([sys.executable, "-c", PROBE.replace(
        "build_app(Engine())", "build_app(Engine()); import pyctr.engine.daemon.daemon")],
        capture_output=True, text=True, check=True)
    assert "pyroute2" in json.loads(out.stdout)


class Probe(JobArgs[str]):
    job = "probe"


def test_jobs_wait_for_the_opening_then_run():
    """A job that comes while the daemon opens waits, and then runs on the handler the
    opening registered: it never fails for having come early."""
    async def scenario() -> tuple[bool, str]:
        engine = Engine()
        opened = asyncio.get_running_loop().create_future()
        engine.opening(opened)
        early = asyncio.create_task(engine.run(Probe()))
        await asyncio.sleep(0)          # the job is waiting now
        waiting = not early.done()

        async def handler(job: Job[Probe]) -> str:
            return "ran"
        engine.register(Probe, handler)
        opened.set_result(None)
        return waiting, await early

    assert asyncio.run(scenario()) == (True, "ran")


def test_jobs_get_the_opening_failure():
    async def scenario() -> None:
        engine = Engine()
        opened = asyncio.get_running_loop().create_future()
        engine.opening(opened)
        early = asyncio.create_task(engine.run(Probe()))
        await asyncio.sleep(0)
        opened.set_exception(RuntimeError("bridge setup failed"))
        await early

    with pytest.raises(RuntimeError, match="bridge setup failed"):
        asyncio.run(scenario())


def test_the_whole_daemon_leaves_heavy_optional_packages_alone():
    """What the daemon imports once open: no numpy or pandas (which a library may pick up
    when they happen to be installed, as matplotlib of the bench extra brings numpy), and
    no sqlite-utils (the graph DB is on sqlite3): each is megabytes of resident memory."""
    probe = PROBE.replace("build_app(Engine())", "build_app(Engine())\n"   # all that main.py preloads
                          "import asyncio\nfrom pyctr.engine.server.lazy import preload\n"
                          "asyncio.run(preload('pyctr.engine.daemon.lifecycle', 'pyctr.engine.daemon.handlers'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = json.loads(out.stdout)
    assert "pyctr.engine.server.build" in modules and "pyctr.engine.daemon.lifecycle" in modules
    assert [m for m in ("numpy", "pandas", "sqlite_utils") if m in modules] == []
    # pyroute2: AsyncIPRoute and what it needs, not the whole API its __init__ re-exports
    # (networkdriver/rtnl.py): some 70 modules and 5 MiB of an idle daemon's memory
    assert "pyroute2.iproute.linux" in modules
    unused = ("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.netlink.nl80211", "pyroute2.plan9",
              "pyroute2.conntrack", "pyroute2.netlink.generic.wireguard", "pyroute2.nslink")
    assert [m for m in unused if m in modules] == []
    # aiohttp's HTTP client (connector, cookie jar, TLS contexts: 4 MiB) comes with the first pull
    assert "aiohttp.web" in modules
    assert [m for m in ("aiohttp.client", "aiohttp.connector", "aiohttp.cookiejar") if m in modules] == []
    # the builder comes with the first build (daemon/handlers.py)
    assert [m for m in ("pyctr.engine.builder.evaluator", "pyctr.engine.daemon.build") if m in modules] == []
    # dnspython (about 1 MiB) comes with the first container on a user-defined network
    assert [m for m in modules if m == "dns" or m.startswith("dns.") or m.endswith("networkdriver.dns")] == []


def test_aiohttp_stays_whole_for_whoever_asks_for_more():
    """After main.py's bare import of aiohttp, the daemon's registry client still gets
    the whole client on its first session, imported in a thread."""
    probe = ("import asyncio, sys, pyctr.engine.main\n"
             "pyctr.engine.main.prepare_imports()\n"
             "from aiohttp import web\n"
             "import aiohttp\n"
             "from pyctr.engine.registry.client import new_session\n"
             "assert 'aiohttp.connector' not in sys.modules\n"
             "import threading\n"
             "loop_thread = threading.get_ident()\n"
             "real_exec = type(sys.modules['aiohttp'].__spec__.loader).exec_module\n"
             "ran_in = []\n"
             "def exec_module(self, module):\n"
             "    if module.__name__ == 'aiohttp':\n"
             "        ran_in.append(threading.get_ident() != loop_thread)\n"
             "    return real_exec(self, module)\n"
             "type(sys.modules['aiohttp'].__spec__.loader).exec_module = exec_module\n"
             "async def use():\n"
             "    async with new_session() as session:\n"
             "        return type(session).__name__, aiohttp.__version__ == aiohttp.__version__.strip()\n"
             "print(*asyncio.run(use()), 'aiohttp.connector' in sys.modules, ran_in == [True])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # ... its __init__ run once, in a thread: not on the event loop
    assert out.stdout.split() == ["ClientSession", "True", "True", "True"]


def test_pyroute2_stays_whole_for_whoever_asks_for_more():
    """After rtnl.py's bare import, a name only pyroute2's __init__ defines still imports."""
    probe = ("import pyctr.engine.networkdriver.netlink\n"
             "from pyroute2 import IPRoute, AsyncIPRoute, NetlinkError\n"
             "from pyctr.engine.networkdriver.rtnl import AsyncIPRoute as ours, NetlinkError as error\n"
             "assert ours is AsyncIPRoute and error is NetlinkError\n"
             "import pyroute2, pyroute2.ndb\n"
             "print(IPRoute.__name__, pyroute2.__version__)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "IPRoute"
