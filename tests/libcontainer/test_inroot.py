"""The confined-filesystem helper on a real kernel: every path it is given resolves
inside the root it was handed, whatever symlinks the root holds; its errors come back
typed; it comes back after it died."""

from __future__ import annotations

import io
import os
import signal
import stat
import tarfile
import time

import pytest

from pyctr.engine.libcontainer.inroot_client import InRoot, InRootError, open_root
from pyctr.engine.errors import BadRequest, NotFound

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


@pytest.fixture
def helper():
    h = InRoot()
    yield h
    h.close()


@pytest.fixture
def root(tmp_path):
    """A root whose links all aim at the host: `/`, an absolute host directory, `..`s."""
    host = tmp_path / "host-only"
    host.mkdir()
    (host / "secret").write_text("host\n")
    r = tmp_path / "root"
    (r / "dir").mkdir(parents=True)
    (r / "dir/file").write_text("inside\n")
    os.symlink("/", r / "top")
    os.symlink(str(host), r / "hostdir")
    os.symlink("../../../../..", r / "up")
    os.symlink("file", r / "dir/link")
    fd = open_root(str(r))
    yield r, host, fd
    os.close(fd)


def tar_of(name: str, data: bytes) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def members(chunks) -> dict:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        return {m.name: (m.type, tar.extractfile(m).read() if m.isfile() else m.linkname) for m in tar}


def test_links_resolve_inside_the_root(helper, root):
    r, host, fd = root
    info, chunks = helper.pack(fd, "/top/dir/file", False, "file")
    assert members(chunks) == {"file": (tarfile.REGTYPE, b"inside\n")}
    info, chunks = helper.pack(fd, "/up/dir/", True, "dir")
    assert set(members(chunks)) == {"dir", "dir/file", "dir/link"}
    with pytest.raises(NotFound):
        helper.pack(fd, "/hostdir/secret", False, "secret")   # the host's path is not in the root
    with pytest.raises(NotFound):
        helper.stat(fd, "/up/../hostdir/secret", False)


def test_a_name_too_long_or_links_looping_are_the_requests_fault(helper, root):
    """Found by the fuzzer (a 500 before): the client's path is at fault, a 400."""
    r, _, fd = root
    os.symlink("loop-b", r / "loop-a")
    os.symlink("loop-a", r / "loop-b")
    for path in ("/" + "a" * 300, "/dir/" + "b" * 5000, "/loop-a"):
        with pytest.raises(BadRequest):
            helper.stat(fd, path, True)
        with pytest.raises(BadRequest):
            helper.pack(fd, path, True, "x")


def test_a_link_is_archived_as_itself_unless_followed(helper, root):
    _, _, fd = root
    info = helper.stat(fd, "/dir/link", False)
    assert stat.S_ISLNK(info["mode"]) and info["link_target"] == "/dir/file"
    _, chunks = helper.pack(fd, "/dir/link", False, "link")
    assert members(chunks) == {"link": (tarfile.SYMTYPE, "file")}
    _, chunks = helper.pack(fd, "/dir/link/", True, "link")
    assert members(chunks) == {"link": (tarfile.REGTYPE, b"inside\n")}


def test_writes_through_links_land_inside_the_root(helper, root):
    r, host, fd = root
    helper.unpack(fd, "/top/dir", tar_of("a", b"1"))
    helper.unpack(fd, "/up", tar_of("b", b"2"))
    assert (r / "dir/a").read_bytes() == b"1" and (r / "b").read_bytes() == b"2"
    with pytest.raises(NotFound):
        helper.unpack(fd, "/hostdir", tar_of("c", b"3"))
    with pytest.raises(BadRequest):   # the archive's own `../` stays refused inside
        helper.unpack(fd, "/dir", tar_of("../../escape", b"4"))
    with pytest.raises(BadRequest, match="not a directory"):
        helper.unpack(fd, "/dir/file", tar_of("d", b"5"))
    assert os.listdir(host) == ["secret"]


def test_a_device_node_is_archived_never_read(helper, root):
    r, _, fd = root
    os.mknod(r / "dir/zero", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    _, chunks = helper.pack(fd, "/dir/zero", False, "zero")
    assert members(chunks) == {"zero": (tarfile.CHRTYPE, "")}


def test_the_helper_comes_back_after_it_died(helper, root):
    _, _, fd = root
    helper.stat(fd, "/dir", False)
    os.kill(helper._proc.pid, signal.SIGKILL)
    helper._proc.wait()
    assert stat.S_ISDIR(helper.stat(fd, "/dir", False)["mode"])


def test_a_failure_in_the_helper_is_an_error_not_a_hang(helper, root):
    _, _, fd = root
    from pyctr.engine.libcontainer.inroot_client import _Request
    req = _Request(helper, fd, {"op": "no-such-operation"}, False)
    try:
        req.close_data()
        with pytest.raises(InRootError, match="no-such-operation"):
            req.result()
    finally:
        req.close()


def test_a_child_holds_only_the_file_capabilities(helper, root):
    """Chrooted, without SYS_CHROOT or SYS_ADMIN, no new privileges: seen in /proc while a
    child waits for the tar it is to unpack."""
    from pyctr.engine.libcontainer.inroot_client import _Request
    r, _, fd = root
    req = _Request(helper, fd, {"op": "unpack", "path": "/dir"}, True)
    try:
        children = []
        for _ in range(200):
            with open(f"/proc/{helper._proc.pid}/task/{helper._proc.pid}/children") as f:
                children = f.read().split()
            if children:
                break
            time.sleep(0.01)
        (child,) = children

        def status() -> dict:
            with open(f"/proc/{child}/status") as f:
                return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        for _ in range(200):   # until it has settled (no_new_privs is its last step)
            if status()["NoNewPrivs"] == "1":
                break
            time.sleep(0.01)
        status = status()
        wanted = sum(1 << c for c in (0, 1, 2, 3, 4, 27, 31))   # CHOWN..FSETID, MKNOD, SETFCAP
        assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == wanted
        assert status["NoNewPrivs"] == "1"
        assert os.readlink(f"/proc/{child}/root") == str(r)
    finally:
        req.close_data()
        with pytest.raises(BadRequest):   # no tar came
            req.result()
        req.close()
