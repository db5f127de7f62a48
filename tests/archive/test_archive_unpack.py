"""engine/archive unpack: formats, compression, metadata, whiteouts, corrupt and hostile input."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import subprocess
import tarfile
import uuid

import pytest

from pyctr.engine.archive import ArchiveError, Compression, Whiteouts, detect, pack_dir, unpack
from tarhelpers import E, build_tar, snapshot


def _unpack(data: bytes, dest: str, **kw) -> int:
    return unpack(io.BytesIO(data), dest, **kw)


def _outside_state(outside: str, dest: str) -> set[str]:
    """Every path under `outside` except those inside `dest`."""
    seen = set()
    for dirpath, dirnames, filenames in os.walk(outside):
        if dirpath == dest or dirpath.startswith(dest + "/"):
            continue
        for n in dirnames + filenames:
            seen.add(os.path.join(dirpath, n))
    return seen


SIMPLE = [E("etc", "dir", mode=0o755), E("etc/hostname", data=b"box\n"), E("bin", "dir"),
          E("bin/sh", data=b"\x7fELF" + bytes(5000), mode=0o755)]


# -- formats and compression ---------------------------------------------------------------


@pytest.mark.parametrize("compress", [None, gzip.compress, bz2.compress, lzma.compress],
                         ids=["plain", "gzip", "bzip2", "xz"])
def test_unpacks_each_compression(layout, compress):
    dest, _ = layout
    data = build_tar(SIMPLE)
    if compress:
        data = compress(data)
    size = _unpack(data, dest)
    assert size == 4 + 5000 + 4
    assert open(f"{dest}/etc/hostname", "rb").read() == b"box\n"
    assert os.stat(f"{dest}/bin/sh").st_mode & 0o777 == 0o755


def test_detect_by_magic():
    assert detect(b"\x1f\x8b\x08\x00") is Compression.GZIP
    assert detect(b"BZh91A") is Compression.BZIP2
    assert detect(b"\xfd7zXZ\x00") is Compression.XZ
    assert detect(b"etc/\x00\x00") is Compression.NONE
    with pytest.raises(ArchiveError, match="zstd"):
        detect(b"\x28\xb5\x2f\xfd\x00\x00")


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
                         ids=["ustar", "gnu", "pax"])
def test_reads_each_tar_format_with_long_names(layout, fmt):
    dest, _ = layout
    deep = "/".join(["d" * 60] * 3)  # 182 chars: needs ustar's prefix, GNU 'L' or pax
    entries = [E(deep, "dir"), E(deep + "/f", data=b"x"), E("link", "symlink", link="d" * 60 + "/f")]
    if fmt != tarfile.USTAR_FORMAT:  # only GNU and pax can say these
        entries += [E("n" * 150 + "/" + "n" * 150, data=b"long"), E("longlink", "symlink", link=deep + "/f")]
    _unpack(build_tar(entries, fmt), dest)
    assert open(f"{dest}/{deep}/f").read() == "x"
    assert os.readlink(f"{dest}/link") == "d" * 60 + "/f"
    if fmt != tarfile.USTAR_FORMAT:
        assert open(os.path.join(dest, "n" * 150, "n" * 150)).read() == "long"
        assert os.readlink(f"{dest}/longlink") == deep + "/f"


def test_reads_gnu_tar_output(tmp_path, layout):
    dest, _ = layout
    src = tmp_path / "src"
    (src / ("x" * 120)).mkdir(parents=True)
    (src / ("x" * 120) / "f").write_bytes(b"gnu")
    os.setxattr(src / ("x" * 120) / "f", "user.note", b"hi")
    archive = tmp_path / "a.tar"
    subprocess.run(["tar", "--xattrs", "--format=posix", "-C", str(src), "-cf", str(archive), "."], check=True)
    with open(archive, "rb") as f:
        unpack(f, dest)
    assert snapshot(dest) == snapshot(str(src))
    assert os.getxattr(f"{dest}/{'x' * 120}/f", "user.note") == b"hi"


def test_metadata_round_trip_through_pack(tmp_path, layout):
    """Everything we pack comes back: modes incl. setuid, owners, times, links, devices, fifos, xattrs."""
    dest, _ = layout
    src = tmp_path / "src"
    (src / "dir").mkdir(parents=True)
    (src / "dir" / "suid").write_bytes(b"#!/bin/sh\n")
    os.chown(src / "dir" / "suid", 1234, 5678)
    os.chmod(src / "dir" / "suid", 0o4755)
    os.link(src / "dir" / "suid", src / "hard")
    os.symlink("/etc/does-not-matter", src / "abs-link")
    os.mknod(src / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(src / "fifo", 0o640)
    (src / "big").write_bytes(os.urandom(3 << 20))
    os.setxattr(src / "big", "user.color", b"blue")
    os.setxattr(src / "big", "trusted.pyctr", b"\x00\xff")
    os.chmod(src / "dir", 0o705)
    for p in ("dir/suid", "big", "fifo", "dir"):
        os.utime(src / p, (1_500_000_000, 1_500_000_000))
    os.utime(src / "abs-link", (1_400_000_000, 1_400_000_000), follow_symlinks=False)

    data = b"".join(pack_dir(str(src)))
    size = _unpack(data, dest)
    assert snapshot(dest) == snapshot(str(src))
    assert os.stat(f"{dest}/hard").st_ino == os.stat(f"{dest}/dir/suid").st_ino
    assert os.getxattr(f"{dest}/big", "user.color") == b"blue"
    assert os.getxattr(f"{dest}/big", "trusted.pyctr") == b"\x00\xff"
    assert size == (3 << 20) + len(b"#!/bin/sh\n")  # hardlinks counted once
    # GNU tar reads what we write, too.
    other = tmp_path / "gnu"
    other.mkdir()
    subprocess.run(["tar", "--xattrs", "--xattrs-include=*", "-C", str(other), "-xf", "-"], input=data, check=True)
    assert snapshot(str(other)) == snapshot(str(src))


def test_existing_entries_are_replaced_not_followed(layout):
    dest, outside = layout
    victim = os.path.join(outside, "victim")
    with open(victim, "w") as f:
        f.write("untouched")
    os.symlink(victim, f"{dest}/f")  # a pre-existing link at the path of a file entry
    os.makedirs(f"{dest}/was-dir/sub")
    with open(f"{dest}/was-file", "w") as f:
        f.write("old")
    _unpack(build_tar([E("f", data=b"new"), E("was-dir", data=b"now a file"), E("was-file", "dir"),
                       E("was-file/in", data=b"x")]), dest)
    assert open(victim).read() == "untouched"
    assert not os.path.islink(f"{dest}/f") and open(f"{dest}/f").read() == "new"
    assert open(f"{dest}/was-dir").read() == "now a file"
    assert os.path.isdir(f"{dest}/was-file")


def test_existing_directory_is_merged(layout):
    dest, _ = layout
    os.makedirs(f"{dest}/etc")
    open(f"{dest}/etc/keep", "w").close()
    _unpack(build_tar([E("etc", "dir", mode=0o700), E("etc/new", data=b"")]), dest)
    assert sorted(os.listdir(f"{dest}/etc")) == ["keep", "new"]
    assert os.stat(f"{dest}/etc").st_mode & 0o777 == 0o700


def test_directory_mtime_is_set_after_its_content(layout):
    dest, _ = layout
    _unpack(build_tar([E("d", "dir", mtime=1_000_000_000), E("d/f", data=b"x", mtime=1_200_000_000)]), dest)
    assert int(os.stat(f"{dest}/d").st_mtime) == 1_000_000_000
    assert int(os.stat(f"{dest}/d/f").st_mtime) == 1_200_000_000


def test_missing_parents_are_created(layout):
    dest, _ = layout
    _unpack(build_tar([E("a/b/c/file", data=b"x")]), dest)
    assert os.path.isfile(f"{dest}/a/b/c/file")
    assert os.stat(f"{dest}/a/b").st_mode & 0o777 == 0o755


def test_dot_slash_names_and_root_entry(layout):
    dest, _ = layout
    _unpack(build_tar([E("./", "dir", mode=0o711), E("./usr/", "dir"), E("./usr/x", data=b"1")]), dest)
    assert open(f"{dest}/usr/x").read() == "1"
    assert os.stat(dest).st_mode & 0o777 == 0o711


def test_relative_symlink_inside_root_is_followed_for_parents(layout):
    dest, _ = layout
    _unpack(build_tar([E("usr/lib", "dir"), E("lib", "symlink", link="usr/lib"), E("lib/libc.so", data=b"c")]), dest)
    assert open(f"{dest}/usr/lib/libc.so").read() == "c"
    assert os.path.islink(f"{dest}/lib")


# -- whiteouts ------------------------------------------------------------------------------

WHITEOUT_TAR = [E("gone", data=b""), E(".wh.gone"), E("d", "dir"), E("d/.wh..wh..opq"), E("d/new", data=b"n"),
                E("sub/.wh.olddir")]


def _lower(dest):
    os.makedirs(f"{dest}/d/lower-only")
    os.makedirs(f"{dest}/sub/olddir/deep")
    open(f"{dest}/d/lower-file", "w").close()


def test_whiteouts_delete_mode(layout):
    dest, _ = layout
    _lower(dest)
    _unpack(build_tar(WHITEOUT_TAR), dest, whiteouts=Whiteouts.DELETE)
    assert not os.path.lexists(f"{dest}/gone")
    assert os.listdir(f"{dest}/d") == ["new"]  # opaque: lower content gone, this archive's kept
    assert os.listdir(f"{dest}/sub") == []


def test_whiteouts_overlay_mode(layout):
    dest, _ = layout
    _unpack(build_tar(WHITEOUT_TAR), dest, whiteouts=Whiteouts.OVERLAY)
    st = os.lstat(f"{dest}/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert stat.S_ISCHR(os.lstat(f"{dest}/sub/olddir").st_mode)
    assert os.getxattr(f"{dest}/d", "trusted.overlay.opaque") == b"y"
    assert os.listdir(f"{dest}/d") == ["new"]


def test_whiteouts_none_mode_keeps_files(layout):
    dest, _ = layout
    _unpack(build_tar([E(".wh.x", data=b"literal")]), dest)
    assert open(f"{dest}/.wh.x").read() == "literal"


def test_tar_cannot_set_overlay_xattrs(layout):
    dest, _ = layout
    _unpack(build_tar([E("d", "dir", xattrs={"trusted.overlay.opaque": "y", "user.ok": "1"})]), dest,
            whiteouts=Whiteouts.OVERLAY)
    assert os.getxattr(f"{dest}/d", "user.ok") == b"1"
    with pytest.raises(OSError):
        os.getxattr(f"{dest}/d", "trusted.overlay.opaque")


# -- corrupt input ---------------------------------------------------------------------------

def _big_tar() -> bytes:
    return build_tar([E("a", data=os.urandom(10_000)), E("b", data=os.urandom(3000))])


# a: header 0-512, data 512-10512, padding to 10752; b: header 10752-11264, data 11264-14264,
# padding to 14336; then the end-of-archive zeros.
@pytest.mark.parametrize("cut,msg", [
    (6000, "unexpected end of archive in data of 'a'"),
    (10752 + 100, "unexpected end of archive after 'a'"),
    (14300, "unexpected end of archive in data of 'b'"),
    (14336, "unexpected end of archive after 'b'"),
], ids=["mid-data", "mid-header", "mid-padding", "no-trailer"])
def test_truncated_tar_raises(layout, cut, msg):
    dest, _ = layout
    with pytest.raises(ArchiveError, match=msg):
        _unpack(_big_tar()[:cut], dest)


def test_truncated_at_member_boundary_without_trailer_raises(layout):
    dest, _ = layout
    data = _big_tar()
    # header(512) + 10000 data padded to 10240 = end of member a
    with pytest.raises(ArchiveError, match="after 'a'"):
        _unpack(data[: 512 + 10240], dest)


def test_corrupt_header_raises(layout):
    dest, _ = layout
    data = bytearray(_big_tar())
    data[512 + 10240 + 10] ^= 0xFF  # b's name: checksum no longer matches
    with pytest.raises(ArchiveError, match="checksum"):
        _unpack(bytes(data), dest)


@pytest.mark.parametrize("data,msg", [
    (b"", "empty archive"),
    (b"this is not a tar file at all" * 40, "checksum|not a tar"),
    (gzip.compress(b"x" * 5000)[:-12], "corrupt|unexpected end"),
    (gzip.compress(b"x" * 5000), "checksum|not a tar"),
], ids=["empty", "text", "truncated-gzip", "gzip-of-no-tar"])  # gzip's mtime: ids must not vary (xdist)
def test_garbage_raises(layout, data, msg):
    dest, _ = layout
    with pytest.raises(ArchiveError, match=msg):
        _unpack(data, dest)


def test_truncated_gzip_raises(layout):
    dest, _ = layout
    data = gzip.compress(_big_tar())
    with pytest.raises(ArchiveError):
        _unpack(data[: len(data) // 2], dest)


# -- hostile input ---------------------------------------------------------------------------

def _hostile_cases():
    tag = uuid.uuid4().hex[:8]
    return {
        "dotdot": ([E(f"../escape-{tag}", data=b"x")], "'\\.\\.'"),
        "nested-dotdot": ([E("a", "dir"), E(f"a/../../escape-{tag}", data=b"x")], "'\\.\\.'"),
        "absolute": ([E(f"/tmp/escape-{tag}", data=b"x")], "absolute"),
        "symlink-to-root": ([E("evil", "symlink", link="/"), E(f"evil/tmp/escape-{tag}", data=b"x")],
                            "outside the layer"),
        "symlink-up": ([E("up", "symlink", link="../.."), E(f"up/escape-{tag}", data=b"x")], "outside the layer"),
        "symlink-chain": ([E("a", "symlink", link="b"), E("b", "symlink", link="../"),
                           E(f"a/escape-{tag}", data=b"x")], "outside the layer"),
        "hardlink-abs": ([E("pw", "hardlink", link="/etc/passwd")], "absolute"),
        "hardlink-up": ([E("pw", "hardlink", link="../../../../etc/passwd")], "'\\.\\.'"),
        "hardlink-via-symlink": ([E("etc", "symlink", link="/etc"), E("pw", "hardlink", link="etc/passwd")],
                                 "outside the layer"),
        "hardlink-missing": ([E("pw", "hardlink", link="nothing")], "does not exist"),
        "whiteout-dotdot": ([E("d/.wh..."), ], "'\\.\\.'|names no file"),
    }, tag


@pytest.mark.parametrize("case", sorted(_hostile_cases()[0]))
@pytest.mark.parametrize("whiteouts", [Whiteouts.NONE, Whiteouts.DELETE, Whiteouts.OVERLAY])
def test_hostile_tar_writes_nothing_outside_and_raises(layout, case, whiteouts):
    dest, outside = layout
    cases, tag = _hostile_cases()
    entries, msg = cases[case]
    if case == "whiteout-dotdot" and whiteouts is Whiteouts.NONE:
        pytest.skip("a literal '.wh...' file is harmless without whiteout handling")
    before = _outside_state(outside, dest)
    passwd = os.stat("/etc/passwd")
    with pytest.raises(ArchiveError, match=msg) as err:
        _unpack(build_tar(entries), dest, whiteouts=whiteouts)
    assert repr(entries[-1].name) in str(err.value)  # the error names the offending entry
    assert _outside_state(outside, dest) == before
    assert not any(f"escape-{tag}" in p for p in os.listdir("/tmp"))
    assert os.stat("/etc/passwd").st_nlink == passwd.st_nlink


def test_absolute_symlink_entries_are_allowed(layout):
    """Creating a symlink writes nothing through it; images are full of absolute links."""
    dest, _ = layout
    _unpack(build_tar([E("etc/localtime", "symlink", link="/usr/share/zoneinfo/UTC")]), dest)
    assert os.readlink(f"{dest}/etc/localtime") == "/usr/share/zoneinfo/UTC"


def test_gzip_without_isal(layout, monkeypatch):
    """The standard library's gzip is the fallback when isal is not installed."""
    from pyctr.engine.archive import compression

    monkeypatch.setattr(compression, "_fast_gzip", None)
    dest, _ = layout
    assert _unpack(gzip.compress(build_tar(SIMPLE)), dest) == 5008


def test_decompression_thread_stops_after_an_error(layout):
    import threading
    import time

    dest, _ = layout
    data = gzip.compress(build_tar([E("a", data=os.urandom(1 << 20)), E("../bad", data=b"x"),
                                    E("c", data=os.urandom(8 << 20))]))
    with pytest.raises(ArchiveError, match="'..'"):
        _unpack(data, dest)
    deadline = time.monotonic() + 5
    while any(t.name == "decompress" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "decompress" for t in threading.enumerate())


def test_hardlink_to_a_symlink_links_the_symlink_itself(layout):
    dest, _ = layout
    passwd_links = os.stat("/etc/passwd").st_nlink
    _unpack(build_tar([E("s", "symlink", link="/etc/passwd"), E("h", "hardlink", link="s")]), dest)
    assert os.path.islink(f"{dest}/h") and os.readlink(f"{dest}/h") == "/etc/passwd"
    assert os.stat("/etc/passwd").st_nlink == passwd_links
