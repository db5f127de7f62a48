"""The graph driver conformance suite (Docker's graphtest): every test runs against every
driver in DRIVERS. A driver that passes this can back the daemon."""

from __future__ import annotations

import io
import os
import stat
import threading

import pytest

from .conftest import mounts_under
from pyctr.engine.archive import ArchiveError
from pyctr.engine.graphdriver import (DRIVERS, Change, DriverError, LayerExists, LayerNotFound,
                                      OverlayDriver, VfsDriver, new_driver)
from tarhelpers import E, build_tar, snapshot

LONG_ID = "f" * 64  # Docker ids are 64 hex chars


def put_files(d, layer: str, files: dict[str, str | None]) -> None:
    """Write into a layer through get/put. Content None makes a directory."""
    root = d.get(layer)
    try:
        for path, content in files.items():
            full = os.path.join(root, path)
            if content is None:
                os.makedirs(full, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w") as f:
                    f.write(content)
    finally:
        d.put(layer)


def tree(d, layer: str) -> dict[str, tuple]:
    root = d.get(layer)
    try:
        return snapshot(root)
    finally:
        d.put(layer)


def base_layer(d, layer_id: str = "base") -> None:
    d.create(layer_id, None)
    put_files(d, layer_id, {"etc/passwd": "root:x:0:0\n", "etc/motd": "hello\n", "bin/sh": "#!\n",
                            "var/lib/dpkg/status": "ok", "opt/app/a": "a", "opt/app/b": "b"})


# -- lifecycle ----------------------------------------------------------------------------


def test_create_exists_remove(driver):
    assert not driver.exists("a")
    driver.create("a", None)
    assert driver.exists("a")
    with pytest.raises(LayerExists):
        driver.create("a", None)
    driver.create(LONG_ID, "a")
    assert driver.exists(LONG_ID)
    driver.remove(LONG_ID)
    driver.remove("a")
    assert not driver.exists("a") and not driver.exists(LONG_ID)
    with pytest.raises(LayerNotFound):
        driver.remove("a")


def test_half_made_layers_are_listed_and_discarded(driver):
    """What a daemon killed inside create/apply_diff leaves: listed by layer_ids,
    `leftover` (overlay: but not `exists`; a vfs layer is only its directory), and gone
    after discard (also when it was mounted)."""
    base_layer(driver)
    driver.create("child", "base")
    driver.get("child")   # left mounted, as by a daemon that died
    assert sorted(driver.layer_ids()) == ["base", "child"]
    home = driver._dir("half")
    os.mkdir(home)   # the directory made, nothing else yet
    assert driver.leftover("half")
    assert driver.exists("half") == isinstance(driver, VfsDriver)
    assert "half" in driver.layer_ids()
    driver.discard("half")
    driver.discard("child")
    driver.discard("never-made")   # nothing there: no error
    assert not driver.leftover("half") and not driver.leftover("child")
    assert driver.layer_ids() == ["base"]
    assert driver.sweep({"base"}) == []
    driver.create("again", "base")   # the id of a discarded layer is free again
    driver.remove("again")
    driver.remove("base")
    assert not mounts_under(driver.home)


def test_sweep_removes_driver_debris(driver):
    base_layer(driver)
    if isinstance(driver, OverlayDriver):
        os.symlink("../gone/diff", os.path.join(driver.home, "l", "DANGLINGLINK"))
        assert driver.sweep({"base"}) == ["l/DANGLINGLINK"]
    else:
        os.mkdir(driver._dir("copy") + ".tmp")
        assert driver.sweep({"base"}) == ["copy.tmp"]
    assert driver.layer_ids() == ["base"] and driver.exists("base")
    assert tree(driver, "base")   # the layer itself is untouched
    driver.remove("base")


def test_create_with_missing_parent_fails_and_leaves_nothing(driver):
    with pytest.raises(LayerNotFound):
        driver.create("child", "no-such-parent")
    assert not driver.exists("child")
    driver.create("child", None)  # the id is still free


def test_get_of_missing_layer_fails(driver):
    with pytest.raises(LayerNotFound):
        driver.get("nope")


def test_new_layer_is_empty(driver):
    driver.create("a", None)
    assert tree(driver, "a") == {}


def test_status_lines(driver):
    driver.create("a", None)
    status = dict(driver.status())
    assert status["Backing Filesystem"]


# -- get / put ----------------------------------------------------------------------------


def test_get_put_refcounting_and_put_unmounts(driver):
    base_layer(driver)
    driver.create("c", "base")
    home = driver.home
    p1 = driver.get("c")
    p2 = driver.get("c")
    assert p1 == p2 and os.path.isfile(p1 + "/etc/passwd")
    mounted = mounts_under(home)
    if isinstance(driver, OverlayDriver):
        assert mounted == [p1]
    driver.put("c")
    assert mounts_under(home) == mounted  # one reference left: still there
    assert os.path.isfile(p1 + "/etc/passwd")
    driver.put("c")
    assert mounts_under(home) == []


def test_concurrent_get_put(driver):
    base_layer(driver)
    driver.create("c", "base")
    errors = []

    def worker():
        try:
            for _ in range(30):
                root = driver.get("c")
                assert os.path.isfile(root + "/etc/motd")
                driver.put("c")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert mounts_under(driver.home) == []


def test_remove_of_mounted_layer(driver):
    base_layer(driver)
    driver.create("c", "base")
    driver.get("c")
    driver.get("c")
    driver.remove("c")
    assert not driver.exists("c")
    assert mounts_under(driver.home) == []
    assert driver.exists("base")


def test_cleanup_unmounts_all(driver):
    base_layer(driver)
    for i in range(3):
        driver.create(f"c{i}", "base")
        driver.get(f"c{i}")
    driver.cleanup()
    assert mounts_under(driver.home) == []
    put_files(driver, "c1", {"after": "cleanup"})  # still usable afterwards
    assert mounts_under(driver.home) == []


# -- layering ------------------------------------------------------------------------------


def test_child_sees_parent_and_writes_do_not_leak_up(driver):
    base_layer(driver)
    before = tree(driver, "base")
    driver.create("c", "base")
    put_files(driver, "c", {"etc/motd": "changed\n", "new/file": "n"})
    root = driver.get("c")
    try:
        assert open(root + "/etc/passwd").read() == "root:x:0:0\n"
        assert open(root + "/etc/motd").read() == "changed\n"
    finally:
        driver.put("c")
    assert tree(driver, "base") == before


def test_deleting_parent_file_in_child_hides_it(driver):
    base_layer(driver)
    driver.create("c", "base")
    root = driver.get("c")
    try:
        os.unlink(root + "/etc/passwd")
        os.system(f"rm -rf {root}/opt/app")
    finally:
        driver.put("c")
    t = tree(driver, "c")
    assert "etc/passwd" not in t and "opt/app" not in t and "etc/motd" in t
    assert "etc/passwd" in tree(driver, "base")


def test_deep_chain(driver):
    """Many layers: the lower chain must stay within one mount's option page."""
    driver.create("l0", None)
    put_files(driver, "l0", {"f0": "0"})
    for i in range(1, 40):
        driver.create(f"{LONG_ID[:-2]}{i:02d}", f"{LONG_ID[:-2]}{i - 1:02d}" if i > 1 else "l0")
        put_files(driver, f"{LONG_ID[:-2]}{i:02d}", {f"f{i}": str(i)})
    top = f"{LONG_ID[:-2]}39"
    t = tree(driver, top)
    assert all(f"f{i}" in t for i in range(40))


# -- diffs ---------------------------------------------------------------------------------


def _change_child(driver):
    base_layer(driver)
    driver.create("c", "base")
    root = driver.get("c")
    try:
        with open(root + "/etc/motd", "w") as f:
            f.write("changed\n")
        os.unlink(root + "/etc/passwd")
        os.makedirs(root + "/srv/www")
        with open(root + "/srv/www/index.html", "w") as f:
            f.write("<html>")
        os.system(f"rm -rf {root}/opt/app && mkdir {root}/opt/app && echo c > {root}/opt/app/c")
        os.symlink("/etc/motd", root + "/motd-link")
        os.mknod(root + "/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    finally:
        driver.put("c")


EXPECTED_CHANGES = [
    Change("C", "/etc"), Change("C", "/etc/motd"), Change("D", "/etc/passwd"),
    Change("A", "/motd-link"), Change("A", "/null"),
    Change("C", "/opt"), Change("C", "/opt/app"), Change("D", "/opt/app/a"), Change("D", "/opt/app/b"),
    Change("A", "/opt/app/c"),
    Change("A", "/srv"), Change("A", "/srv/www"), Change("A", "/srv/www/index.html"),
]


def test_changes(driver):
    _change_child(driver)
    assert driver.changes("c", "base") == EXPECTED_CHANGES
    assert [c.kind for c in driver.changes("base", None)] == ["A"] * len(tree(driver, "base"))
    assert mounts_under(driver.home) == []


def test_diff_size(driver):
    _change_child(driver)
    assert driver.diff_size("c", "base") == len("changed\n") + len("<html>") + len("c\n") + len("/etc/motd")
    assert driver.diff_size("base", None) == sum(len(x) for x in ("root:x:0:0\n", "hello\n", "#!\n", "ok", "a", "b"))


def test_diff_apply_round_trip(driver):
    _change_child(driver)
    diff = b"".join(driver.diff("c", "base"))
    driver.create("copy", "base")
    size = driver.apply_diff("copy", "base", io.BytesIO(diff))
    assert size == len("changed\n") + len("<html>") + len("c\n")
    assert tree(driver, "copy") == tree(driver, "c")
    assert driver.changes("copy", "base") == EXPECTED_CHANGES
    # and the base layer itself round-trips into a fresh root layer
    driver.create("base2", None)
    driver.apply_diff("base2", None, io.BytesIO(b"".join(driver.diff("base", None))))
    assert tree(driver, "base2") == tree(driver, "base")
    assert mounts_under(driver.home) == []


def test_diff_against_a_grandparent(driver):
    """A parent other than the layer's own: the driver must still give the right answer."""
    _change_child(driver)
    driver.create("g", "c")
    put_files(driver, "g", {"g-file": "g"})
    changes = driver.changes("g", "base")
    assert Change("A", "/g-file") in changes and Change("D", "/etc/passwd") in changes
    driver.create("flat", "base")
    driver.apply_diff("flat", "base", io.BytesIO(b"".join(driver.diff("g", "base"))))
    assert tree(driver, "flat") == tree(driver, "g")
    assert mounts_under(driver.home) == []


def test_apply_diff_with_whiteouts_and_opaque_dirs(driver):
    base_layer(driver)
    driver.create("c", "base")
    layer_tar = build_tar([
        E("etc", "dir", mode=0o755), E("etc/.wh.passwd"), E("etc/hosts", data=b"127.0.0.1 localhost\n"),
        E("opt", "dir"), E("opt/app", "dir", mode=0o750), E("opt/app/.wh..wh..opq"), E("opt/app/new", data=b"n"),
        E("var/lib/.wh.dpkg"), E("usr/bin/tool", data=b"t", mode=0o4755, uid=12, gid=34),
    ])
    driver.apply_diff("c", "base", io.BytesIO(layer_tar))
    t = tree(driver, "c")
    assert "etc/passwd" not in t and "etc/hosts" in t and "etc/motd" in t
    assert [p for p in t if p.startswith("opt/app/")] == ["opt/app/new"]
    assert t["opt/app"][1] == 0o750
    assert "var/lib/dpkg" not in t and "var/lib" in t
    assert t["usr/bin/tool"][1:4] == (0o4755, 12, 34)
    assert "etc/passwd" in tree(driver, "base")
    # a layer on top sees the same
    driver.create("d", "c")
    assert tree(driver, "d") == t
    # the diff of the applied layer says what the tar said
    kinds = {c.path: c.kind for c in driver.changes("c", "base")}
    assert kinds["/etc/passwd"] == "D" and kinds["/var/lib/dpkg"] == "D" and kinds["/opt/app/a"] == "D"
    assert kinds["/opt/app/new"] == "A" and kinds["/usr/bin/tool"] == "A"


@pytest.mark.parametrize("entries,msg", [
    ([E("../escape", data=b"x")], "'..'"),
    ([E("/abs-escape", data=b"x")], "absolute"),
    ([E("evil", "symlink", link="/"), E("evil/etc/escape", data=b"x")], "outside the layer"),
    ([E("up", "symlink", link="../../.."), E("up/escape", data=b"x")], "outside the layer"),
    ([E("pw", "hardlink", link="/etc/passwd")], "absolute"),
    ([E("pw", "hardlink", link="../../../../../../etc/passwd")], "'..'"),
], ids=["dotdot", "absolute", "symlink-root", "symlink-up", "hardlink-passwd", "hardlink-dotdot"])
def test_hostile_tars_write_nothing_outside(driver, outside, entries, msg):
    base_layer(driver)
    driver.create("c", "base")
    base_before = tree(driver, "base")
    passwd_links = os.stat("/etc/passwd").st_nlink
    with pytest.raises(ArchiveError, match=msg):
        driver.apply_diff("c", "base", io.BytesIO(build_tar(entries)))
    assert sorted(os.listdir(outside)) == ["sentinel"]
    assert open(os.path.join(outside, "sentinel")).read() == "untouched"
    assert not os.path.exists("/etc/escape") and not os.path.exists("/abs-escape")
    assert os.stat("/etc/passwd").st_nlink == passwd_links
    assert tree(driver, "base") == base_before
    driver.remove("c")  # what the caller does after a failed apply


# -- registry ------------------------------------------------------------------------------


def test_registry_and_new_driver(tmp_path):
    assert set(DRIVERS) >= {"overlay", "vfs"}
    default = new_driver(None, str(tmp_path / "auto"))
    expected = OverlayDriver if OverlayDriver.supported(str(tmp_path)) else VfsDriver
    assert type(default) is expected
    assert isinstance(new_driver("vfs", str(tmp_path / "v")), VfsDriver)
    with pytest.raises(DriverError, match="unknown graph driver 'aufs'"):
        new_driver("aufs", str(tmp_path / "x"))


def test_overlay_not_supported_on_overlay(tmp_path):
    if not OverlayDriver.supported(str(tmp_path)):
        pytest.skip("no overlay here")
    d = OverlayDriver(str(tmp_path / "home"))
    try:
        d.create("base", None)
        d.create("c", "base")
        merged = d.get("c")
        assert not OverlayDriver.supported(merged + "/nested-home")
        d.put("c")
    finally:
        d.cleanup()


def test_child_sees_special_files_unchanged(driver):
    """Hardlinks, devices, fifos, xattrs, setuid bits and owners come through to a child as is."""
    driver.create("base", None)
    root = driver.get("base")
    try:
        with open(root + "/suid", "w") as f:
            f.write("x")
        os.chown(root + "/suid", 7, 8)
        os.chmod(root + "/suid", 0o4711)
        os.link(root + "/suid", root + "/suid-link")
        os.mknod(root + "/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.mkfifo(root + "/fifo")
        os.setxattr(root + "/suid", "trusted.pyctr", b"t")
        os.setxattr(root + "/suid", "user.pyctr", b"u")
    finally:
        driver.put("base")
    driver.create("c", "base")
    assert tree(driver, "c") == tree(driver, "base")
    root = driver.get("c")
    try:
        assert os.stat(root + "/suid").st_ino == os.stat(root + "/suid-link").st_ino
        assert os.getxattr(root + "/suid", "trusted.pyctr") == b"t"
        assert os.getxattr(root + "/suid", "user.pyctr") == b"u"
    finally:
        driver.put("c")
    assert driver.changes("c", "base") == []
