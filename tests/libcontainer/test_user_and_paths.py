"""Pure pieces of libcontainer: user lookup, scoped path resolution, capability names."""

from __future__ import annotations

import os

import pytest

from pyctr.engine.libcontainer import capabilities, user
from pyctr.engine.libcontainer.mounts import MountError, resolve_in_rootfs
from pyctr.engine.libcontainer.spec import BindMount, ContainerSpec, DeviceNode


@pytest.fixture
def etc(tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "web:x:33:33:www:/var/www:/bin/false\n"
                                     "# comment\n\nnobody:x:65534:65534::/nonexistent:/bin/false\n")
    (tmp_path / "group").write_text("root:x:0:\nweb:x:33:\nstaff:x:50:web,other\nlogs:x:60:web\n"
                                    "nogroup:x:65534:\n")
    return str(tmp_path / "passwd"), str(tmp_path / "group")


@pytest.mark.parametrize("spec,expected", [
    ("", (0, 0, [], "/root")),
    ("root", (0, 0, [], "/root")),
    ("web", (33, 33, [50, 60], "/var/www")),
    ("33", (33, 33, [50, 60], "/var/www")),
    ("web:staff", (33, 50, [60], "/var/www")),
    ("4242", (4242, 0, [], "/")),
    ("4242:77", (4242, 77, [], "/")),
    ("nobody:nogroup", (65534, 65534, [], "/nonexistent")),
])
def test_lookup(etc, spec, expected):
    u = user.lookup(spec, *etc)
    assert (u.uid, u.gid, u.groups, u.home) == expected


@pytest.mark.parametrize("spec", ["ghost", "web:ghosts"])
def test_lookup_unknown(etc, spec):
    with pytest.raises(user.UnknownUser, match="Unable to find"):
        user.lookup(spec, *etc)


def test_lookup_without_passwd_file(tmp_path):
    u = user.lookup("1000", str(tmp_path / "none"), str(tmp_path / "none"))
    assert (u.uid, u.gid) == (1000, 0)


def test_resolve_in_rootfs(tmp_path):
    root = tmp_path / "root"
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")              # relative
    (root / "abs").symlink_to("/usr/lib")             # absolute: relative to the container root
    (root / "up").symlink_to("../../../../etc")       # escapes
    (root / "loop").symlink_to("loop")
    r = str(root)
    assert resolve_in_rootfs(r, "/lib/x") == os.path.join(r, "usr/lib/x")
    assert resolve_in_rootfs(r, "/abs/y") == os.path.join(r, "usr/lib/y")
    assert resolve_in_rootfs(r, "/usr/./lib/../lib/z") == os.path.join(r, "usr/lib/z")
    assert resolve_in_rootfs(r, "/new/dir") == os.path.join(r, "new/dir")
    with pytest.raises(MountError, match="outside"):
        resolve_in_rootfs(r, "/up/passwd")
    with pytest.raises(MountError, match="outside"):
        resolve_in_rootfs(r, "/../etc")
    with pytest.raises(MountError, match="too many symlinks"):
        resolve_in_rootfs(r, "/loop/x")


def test_capability_names():
    assert capabilities.number("CAP_NET_RAW") == capabilities.number("net_raw") == 13
    assert capabilities.mask(capabilities.numbers(capabilities.DOCKER_DEFAULT)) == 0xA80425FB
    assert capabilities.names_of(1 << 13 | 1) == ["CHOWN", "NET_RAW"]
    with pytest.raises(capabilities.CapabilityError):
        capabilities.number("FLY")


def test_spec_round_trip():
    spec = ContainerSpec(
        id="x" * 64, rootfs="/r", hostname="h", args=["sh", "-c", "echo é"], env=["A=1"], cwd="/",
        user="", tty=False, console_path="", mounts=[BindMount(source="/a", destination="/b",
                                                               writable=False, private=True)],
        devices=[DeviceNode(path="/dev/x", kind="c", major=1, minor=3, mode=0o666, uid=0, gid=0)],
        capabilities=[0, 13], privileged=False, readonly_rootfs=False, net_mode="none",
        net_join_pid=0, cgroup_procs=["/sys/fs/cgroup/x/cgroup.procs"], report_fd=5, release_fd=6)
    assert ContainerSpec.decode(spec.encode()) == spec
    with pytest.raises(TypeError, match="missing field"):
        BindMount(source="/a")
