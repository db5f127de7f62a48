"""A full data root is an error, never a wedge: a daemon whose data root (a small tmpfs
here) fills up answers "no space left on device" (507) naming the operation, keeps
wait/stop/rm -f working, leaves nothing half-made, works again once space is freed,
and starts on a full disk."""

from __future__ import annotations

import gzip
import os
import subprocess

import pytest

from diskstate import db_rows, graph_problems
from harness import DaemonProcess
from registry.conftest import open_registry  # noqa: F401 (fixture)
from registry.images import Layer, RegistryHTTP, make_config, make_layer, sha

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

TMPFS_SIZE = "40m"
NO_SPACE = "no space left on device"


class FullDisk:
    def __init__(self, workdir: str, busybox_tar: str) -> None:
        self.workdir = workdir
        self.busybox_tar = busybox_tar
        self.root = os.path.join(workdir, "root")
        self.filler = os.path.join(self.root, "filler")
        os.makedirs(self.root)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", self.root], check=True)
        self.daemon: DaemonProcess | None = None

    def start(self) -> DaemonProcess:
        self.daemon = DaemonProcess(self.workdir, ["--shutdown-timeout", "1"]).start(timeout=30)
        return self.daemon

    def fill(self) -> None:
        """Take every free block of the data root (the file grows until ENOSPC)."""
        with open(self.filler, "ab", buffering=0) as f:   # unbuffered: nothing left to flush
            chunk = b"\0" * (64 << 10)
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass
        st = os.statvfs(self.root)
        assert st.f_bavail * st.f_frsize < 256 << 10

    def free(self) -> None:
        os.unlink(self.filler)

    def docker(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.daemon.docker(*args, check=check, timeout=timeout)

    def fails_for_space(self, *args: str) -> str:
        """The CLI command fails, and says why (a hang would be a TimeoutExpired)."""
        result = self.docker(*args, check=False, timeout=60)
        text = (result.stdout + result.stderr).decode(errors="replace")
        assert NO_SPACE in text.lower(), f"docker {' '.join(args)}: {text}"
        assert self.consistent() == []
        return text

    def consistent(self) -> list[str]:
        return graph_problems(self.root)

    def close(self) -> None:
        try:
            if self.daemon is not None:
                self.daemon.stop()
        finally:
            if self.daemon is not None:
                self.daemon.cleanup_by_force()
            if os.path.ismount(self.root):   # cleanup_by_force may have unmounted it already
                subprocess.run(["umount", "-l", self.root], check=False)


@pytest.fixture(scope="module")
def disk(tmp_path_factory, busybox_tar):
    disk = FullDisk(str(tmp_path_factory.mktemp("enospc")), busybox_tar)
    try:
        d = disk.start()
        with open(busybox_tar, "rb") as f:
            d.client().import_image("-", repo="busybox", tag="latest", body=f).read()
        yield disk
    finally:
        disk.close()


def test_a_container_filling_its_own_root_does_not_wedge_anything(disk):
    disk.docker("run", "-d", "--name", "sleeper", "busybox", "sleep", "1000")
    attached = disk.docker("run", "--name", "attached", "busybox", "sh", "-c",
                           "dd if=/dev/zero of=/fill bs=64k 2>/dev/null; echo full; exit 9",
                           check=False, timeout=60)
    assert attached.returncode == 9 and attached.stdout == b"full\n", attached
    disk.docker("rm", "-f", "attached", timeout=30)
    disk.docker("run", "-d", "--name", "filler", "busybox", "sh", "-c",
                "echo start; dd if=/dev/zero of=/fill bs=64k 2>/dev/null; echo full; exit 7")
    assert disk.docker("wait", "filler", timeout=60).stdout.strip() == b"7"
    state = disk.daemon.client().inspect_container("filler")["State"]
    assert not state["Running"] and state["ExitCode"] == 7
    assert b"start" in disk.docker("logs", "filler").stdout
    disk.docker("stop", "-t", "1", "sleeper", timeout=30)
    assert not disk.daemon.client().inspect_container("sleeper")["State"]["Running"]

    disk.fill()   # whatever the reserve gave back is taken too
    try:
        status, body = _api(disk, "POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})
        assert status in (507, 500) and NO_SPACE in body.lower() and "create" in body.lower(), (status, body)
        disk.fails_for_space("commit", "filler", "filled:1")
        disk.docker("rm", "-f", "filler", timeout=30)   # works on a full disk, and frees its layer
    finally:
        disk.free()
    assert disk.consistent() == []
    # What was kept in memory is on disk by now: a restart shows the same states.
    disk.docker("run", "--name", "after", "busybox", "true")
    disk.daemon.stop()
    disk.start()
    _, rows = db_rows(disk.root)
    names = {r["Name"]: r["State"] for r in rows.values()}
    assert "/filler" not in names
    assert not names["/sleeper"]["Running"] and names["/sleeper"]["Error"] == ""
    assert not names["/after"]["Running"] and names["/after"]["ExitCode"] == 0
    disk.docker("rm", "-f", "sleeper", "after")


def test_pull_load_build_commit_fail_clearly_and_work_once_space_is_freed(disk, open_registry, tmp_path):
    with open(disk.busybox_tar, "rb") as f:
        raw = f.read()
    layers = [Layer(gzip.compress(raw, compresslevel=1, mtime=0), sha(raw)),
              make_layer({"big": os.urandom(3 << 20)})]
    RegistryHTTP(open_registry.address).put_image("full/img", "v1", layers,
                                                  make_config(layers, cmd=["true"]))
    name = f"{open_registry.address}/full/img:v1"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN dd if=/dev/zero of=/b bs=1M count=2\n")
    disk.docker("build", "-t", "toload:1", str(ctx), timeout=120)
    archive = str(tmp_path / "toload.tar")
    disk.docker("save", "-o", archive, "toload:1")
    disk.docker("rmi", "toload:1")
    disk.docker("run", "--name", "changed", "busybox", "sh", "-c", "dd if=/dev/zero of=/c bs=1M count=2")
    before = _images(disk)

    disk.fill()
    try:
        disk.fails_for_space("pull", name)
        disk.fails_for_space("load", "-i", archive)
        disk.fails_for_space("build", "-t", "built:1", str(ctx))
        disk.fails_for_space("commit", "changed", "committed:1")
        assert _images(disk) == before
        assert [c["Names"] for c in disk.daemon.client().json("GET", "/containers/json", {"all": 1})] \
            == [["/changed"]], "a failed build left its container"
    finally:
        disk.free()
    disk.docker("pull", name)
    disk.docker("load", "-i", archive)
    disk.docker("build", "-t", "built:1", str(ctx), timeout=120)
    disk.docker("commit", "changed", "committed:1")
    assert disk.consistent() == []
    disk.docker("rm", "-f", "changed")
    disk.docker("rmi", name, "toload:1", "built:1", "committed:1")


def test_the_daemon_starts_on_a_full_disk_and_says_so(disk):
    disk.daemon.stop()
    disk.fill()
    try:
        d = disk.start()
        assert "is full" in d.log()
        assert disk.docker("ps", "-a").returncode == 0
        assert disk.docker("images").returncode == 0
    finally:
        disk.free()
    assert disk.docker("run", "--rm", "busybox", "echo", "ok").stdout == b"ok\n"
    assert disk.consistent() == []


def _images(disk) -> set[str]:
    return {i["Id"] for i in disk.daemon.client().json("GET", "/images/json", {"all": 1})}


def _api(disk, method: str, path: str, body) -> tuple[int, str]:
    from pyctr.engine.client.errors import APIError
    try:
        disk.daemon.client().json(method, path, body=body)
        return 200, ""
    except APIError as exc:
        return exc.status, str(exc)
