"""engine/archive packing and change detection."""

from __future__ import annotations

import io
import os
import stat
import tarfile

from pyctr.engine.archive import (Whiteouts, changes_dirs, changes_size, overlay_changes, pack_changes,
                                  pack_dir, unpack, write_to)
from pyctr.engine.archive import Change
from tarhelpers import snapshot


def _members(chunks) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tf:
        return [(m.name, m.type) for m in tf]


def _tree(root, files: dict[str, str | None]) -> None:
    """files: path -> content, or None for a directory."""
    for path, content in files.items():
        full = os.path.join(root, path)
        if content is None:
            os.makedirs(full, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)


def test_pack_dir_order_and_types(tmp_path):
    _tree(tmp_path, {"b/z": "1", "a": "2", "b/c/d": "3"})
    os.link(tmp_path / "a", tmp_path / "b" / "a-link")
    os.symlink("a", tmp_path / "sym")
    assert _members(pack_dir(str(tmp_path))) == [
        ("a", tarfile.REGTYPE), ("b", tarfile.DIRTYPE), ("b/a-link", tarfile.LNKTYPE),
        ("b/c", tarfile.DIRTYPE), ("b/c/d", tarfile.REGTYPE), ("b/z", tarfile.REGTYPE),
        ("sym", tarfile.SYMTYPE)]


def test_pack_dir_include_for_cp(tmp_path):
    _tree(tmp_path, {"etc/hosts": "h", "etc/sub/x": "x", "other": "o"})
    assert [n for n, _ in _members(pack_dir(str(tmp_path), include=["etc"]))] == [
        "etc", "etc/hosts", "etc/sub", "etc/sub/x"]


def test_pack_long_names_and_big_ids(tmp_path):
    deep = "/".join(["x" * 90] * 4)
    _tree(tmp_path, {deep + "/f": "deep"})
    os.chown(os.path.join(tmp_path, deep, "f"), 3_000_000, 3_000_000)  # too big for ustar's octal
    data = b"".join(pack_dir(str(tmp_path)))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        m = tf.getmember(deep + "/f")
        assert (m.uid, m.gid) == (3_000_000, 3_000_000)
    out = tmp_path / "out"
    out.mkdir()
    unpack(io.BytesIO(data), str(out))
    assert snapshot(str(out)) == {k: v for k, v in snapshot(str(tmp_path)).items() if not k.startswith("out")}


def test_pack_overlay_upper_converts_whiteouts(tmp_path):
    _tree(tmp_path, {"d/new": "n"})
    os.mknod(tmp_path / "gone", stat.S_IFCHR, 0)
    os.setxattr(tmp_path / "d", "trusted.overlay.opaque", b"y")
    names = _members(pack_dir(str(tmp_path), overlay_whiteouts=True))
    assert names == [("d", tarfile.DIRTYPE), ("d/.wh..wh..opq", tarfile.REGTYPE), ("d/new", tarfile.REGTYPE),
                     (".wh.gone", tarfile.REGTYPE)]
    # and overlay's own xattrs never leave the upper dir
    with tarfile.open(fileobj=io.BytesIO(b"".join(pack_dir(str(tmp_path), overlay_whiteouts=True)))) as tf:
        assert not any(k.startswith("SCHILY.xattr.trusted.overlay") for m in tf for k in m.pax_headers)


def test_pack_changes_and_write_to(tmp_path):
    _tree(tmp_path, {"etc/new": "n", "etc/old": "o"})
    changes = [Change("C", "/etc"), Change("A", "/etc/new"), Change("D", "/etc/removed")]
    buf = io.BytesIO()
    n = write_to(pack_changes(str(tmp_path), changes), buf)
    assert n == len(buf.getvalue()) and n % 512 == 0
    buf.seek(0)
    assert [m.name for m in tarfile.open(fileobj=buf)] == ["etc", "etc/new", "etc/.wh.removed"]


def test_changes_dirs(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _tree(old, {"etc/passwd": "root", "etc/motd": "hi", "var/log/x": "x", "keep/same": "s", "gone/deep/f": "f"})
    os.system(f"cp -a {old} {new}")
    with open(new / "etc" / "motd", "w") as f:
        f.write("changed!")
    os.unlink(new / "etc" / "passwd")
    _tree(new, {"var/log/y": "y", "added/dir/f": "f"})
    os.system(f"rm -rf {new}/gone")
    got = changes_dirs(str(new), str(old))
    assert got == [Change("A", "/added"), Change("A", "/added/dir"), Change("A", "/added/dir/f"),
                   Change("C", "/etc"), Change("C", "/etc/motd"), Change("D", "/etc/passwd"),
                   Change("D", "/gone"), Change("C", "/var"), Change("C", "/var/log"), Change("A", "/var/log/y")]
    assert changes_size(str(new), got) == len("changed!") + 2


def test_changes_dirs_sees_metadata_and_link_targets(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _tree(old, {"f": "x", "g": "y"})
    os.symlink("f", old / "l")
    os.system(f"cp -a {old} {new}")
    os.chown(new / "f", 1, 1)
    os.unlink(new / "l")
    os.symlink("g", new / "l")
    os.utime(new / "l", ns=(os.lstat(old / "l").st_mtime_ns,) * 2, follow_symlinks=False)
    assert changes_dirs(str(new), str(old)) == [Change("C", "/f"), Change("C", "/l")]
    assert changes_dirs(str(old), str(old)) == []


def test_changes_ignore_lost_nanoseconds(tmp_path):
    """A tree that went through tar (whole seconds) has not changed."""
    old, new = tmp_path / "old", tmp_path / "new"
    _tree(old, {"d/f": "x"})
    os.utime(old / "d" / "f", ns=(1_600_000_000_123_456_789,) * 2)
    new.mkdir()
    unpack(io.BytesIO(b"".join(pack_dir(str(old)))), str(new))
    assert changes_dirs(str(new), str(old)) == []


def test_overlay_changes(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _tree(lower, {"etc/passwd": "root", "etc/motd": "hi", "opq/a": "a", "opq/b": "b", "same/x": "x"})
    _tree(upper, {"etc/motd": "changed", "opq/b": "new b", "opq/c": "c", "new/f": "f"})
    os.mknod(upper / "etc" / "passwd", stat.S_IFCHR, 0)
    os.setxattr(upper / "opq", "trusted.overlay.opaque", b"y")
    got = overlay_changes(str(upper), str(lower))
    assert got == [Change("C", "/etc"), Change("C", "/etc/motd"), Change("D", "/etc/passwd"),
                   Change("A", "/new"), Change("A", "/new/f"),
                   Change("C", "/opq"), Change("D", "/opq/a"), Change("C", "/opq/b"), Change("A", "/opq/c")]
    assert overlay_changes(str(upper / "new"), None) == [Change("A", "/f")]


def test_apply_then_overlay_changes_matches_vfs_view(tmp_path):
    """The same layer tar applied both ways reports the same changes."""
    base = tmp_path / "base"
    _tree(base, {"etc/a": "a", "etc/b": "b", "dir/x": "x"})
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tf:
        for name, data in (("etc/.wh.a", b""), ("dir/.wh..wh..opq", b""), ("dir/y", b"y")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    full, upper = tmp_path / "full", tmp_path / "upper"
    os.system(f"cp -a {base} {full}")
    upper.mkdir()
    unpack(io.BytesIO(layer.getvalue()), str(full), whiteouts=Whiteouts.DELETE)
    unpack(io.BytesIO(layer.getvalue()), str(upper), whiteouts=Whiteouts.OVERLAY)
    vfs_view = {(c.kind, c.path) for c in changes_dirs(str(full), str(base))}
    overlay_view = {(c.kind, c.path) for c in overlay_changes(str(upper), str(base))}
    assert vfs_view == overlay_view == {("C", "/etc"), ("D", "/etc/a"), ("C", "/dir"), ("D", "/dir/x"),
                                        ("A", "/dir/y")}
