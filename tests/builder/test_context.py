"""The build context: .dockerignore, sources that may not leave the context, checksums,
and paths inside an image's filesystem."""

from __future__ import annotations

import gzip
import io
import os
import tarfile

import pytest

from pyctr.engine.builder import context
from pyctr.engine.builder.context import ContextError
from pyctr.engine.builder.copier import copy_source, is_archive
from pyctr.engine.libcontainer.inroot_client import InRoot


def write(path, data="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(data)


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_dockerignore(tmp_path):
    root = str(tmp_path)
    for rel in ("Dockerfile", "keep.txt", "a.log", "logs/x.log", "build/out/bin", "src/main.c",
                "src/deep/a.log"):
        write(os.path.join(root, rel))
    write(os.path.join(root, ".dockerignore"), "# comment\n*.log\nbuild\n/src/deep\n")
    removed = context.apply_ignore(root)
    assert sorted(removed) == ["a.log", "build", "src/deep"]
    # `*` stops at `/` (Go's filepath.Match): logs/x.log stays
    assert _files(root) == [".dockerignore", "Dockerfile", "keep.txt", "logs/x.log", "src/main.c"]


def test_dockerignore_exceptions_double_star_and_itself(tmp_path):
    root = str(tmp_path)
    for rel in ("Dockerfile", "docs/a.md", "docs/README.md", "docs/sub/b.md", "x/y/z/c.tmp",
                "c.tmp", "secret/key", "secret/public.pem", "vendor/v.txt"):
        write(os.path.join(root, rel))
    write(os.path.join(root, ".dockerignore"),
          "**/*.tmp\ndocs\n!docs/README.md\nsecret\n!secret/*.pem\nDockerfile\n.dockerignore\n"
          "vendor\n!vendor\n")
    context.apply_ignore(root)
    # an exception takes a file back out of an ignored directory; the last match decides;
    # the Dockerfile and .dockerignore go when listed (the build has read them already)
    assert _files(root) == ["docs/README.md", "secret/public.pem", "vendor/v.txt"]
    assert context.ignored("a/b/c/d.tmp", context.ignore_patterns("a/**/d.tmp"))
    assert context.ignored("a/d.tmp", context.ignore_patterns("a/**/d.tmp"))
    assert not context.ignored("b/d.tmp", context.ignore_patterns("a/**/d.tmp"))
    assert context.ignored("a/b/c", context.ignore_patterns("a/**"))
    assert context.ignored("x", context.ignore_patterns("[a-z]"))
    with pytest.raises(ContextError, match="invalid .dockerignore pattern"):
        context.ignore_patterns("[z-a]")


def test_sources_may_not_leave_the_context(tmp_path):
    root = tmp_path / "ctx"
    write(str(root / "dir/file"))
    os.symlink("/etc/passwd", root / "abs")
    os.symlink("../../outside", root / "dir/up")
    os.symlink("dir/file", root / "inside")
    os.symlink("dir", root / "dirlink")
    assert context.resolve(str(root), "inside") == str(root / "dir/file")
    assert context.resolve(str(root), "dirlink/file") == str(root / "dir/file")
    with pytest.raises(ContextError, match=r"Forbidden path outside the build context: abs \(symlink abs -> /etc/passwd\)"):
        context.resolve(str(root), "abs")
    with pytest.raises(ContextError, match="Forbidden path outside the build context"):
        context.resolve(str(root), "dir/up")
    with pytest.raises(ContextError, match="Forbidden path outside the build context: ../x"):
        context.expand(str(root), "../x")
    with pytest.raises(ContextError, match="Forbidden path"):
        context.resolve(str(root), "dir/../../x")
    with pytest.raises(ContextError, match="no such file"):
        context.source(str(root), "missing")


def test_symlink_loops_end(tmp_path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(ContextError, match="too many levels"):
        context.resolve(str(tmp_path), "a")


def test_wildcards(tmp_path):
    for rel in ("a.txt", "b.txt", "c.md", "sub/d.txt"):
        write(str(tmp_path / rel))
    assert context.expand(str(tmp_path), "*.txt") == ["a.txt", "b.txt"]
    assert context.expand(str(tmp_path), "sub/*") == ["sub/d.txt"]
    with pytest.raises(ContextError, match="no source files"):
        context.expand(str(tmp_path), "*.none")


def test_checksum_sees_content_and_modes_not_times(tmp_path):
    write(str(tmp_path / "d/f"), "one")
    first = context.checksum(str(tmp_path / "d"))
    os.utime(tmp_path / "d/f", (1, 1))
    assert context.checksum(str(tmp_path / "d")) == first
    write(str(tmp_path / "d/f"), "two")
    assert context.checksum(str(tmp_path / "d")) != first
    second = context.checksum(str(tmp_path / "d"))
    os.chmod(tmp_path / "d/f", 0o755)
    assert context.checksum(str(tmp_path / "d")) != second
    assert context.checksum(str(tmp_path / "d/f")).startswith("file:")


@pytest.fixture
def inroot():
    """The confined-filesystem helper the daemon uses (it chroots: needs root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    helper = InRoot()
    yield helper
    helper.close()


def test_copies_through_symlinks_never_leave_the_root(tmp_path, inroot):
    ctx, root = tmp_path / "ctx", tmp_path / "rootfs"
    write(str(ctx / "f.txt"), "file")
    os.makedirs(root / "real")
    os.symlink("/real", root / "abs")
    os.symlink("../../../../real", root / "up")
    os.symlink("/", root / "top")
    copy_source(inroot, str(root), context.source(str(ctx), "f.txt"), "/abs/x", False, True)
    copy_source(inroot, str(root), context.source(str(ctx), "f.txt"), "/up/y", False, True)
    copy_source(inroot, str(root), context.source(str(ctx), "f.txt"), "/top/../z/", False, True)
    assert (root / "real/x").read_text() == (root / "real/y").read_text() == "file"
    assert (root / "z/f.txt").read_text() == "file"


def test_copy_source_file_dir_and_archive(tmp_path, inroot):
    ctx, rootfs = tmp_path / "ctx", tmp_path / "rootfs"
    os.makedirs(rootfs / "existing")
    write(str(ctx / "f.txt"), "file")
    write(str(ctx / "tree/a/b"), "b")
    os.symlink("/etc/passwd", ctx / "tree/link")  # copied as a link, never followed
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("unpacked/inner.txt")
        info.size = 5
        info.uid = 1234
        tar.addfile(info, io.BytesIO(b"inner"))
    (ctx / "arch.tar.gz").write_bytes(gzip.compress(buf.getvalue()))
    (ctx / "notatar.gz").write_bytes(gzip.compress(b"just text"))

    def src(rel):
        return context.source(str(ctx), rel)
    copy_source(inroot, str(rootfs), src("f.txt"), "/existing", False, True)
    assert (rootfs / "existing/f.txt").read_text() == "file"
    copy_source(inroot, str(rootfs), src("f.txt"), "/new/name", False, True)
    assert (rootfs / "new/name").read_text() == "file"
    assert os.stat(rootfs / "new/name").st_uid == 0
    copy_source(inroot, str(rootfs), src("tree"), "/t", False, False)
    assert (rootfs / "t/a/b").read_text() == "b"
    assert os.readlink(rootfs / "t/link") == "/etc/passwd"
    assert is_archive(str(ctx / "arch.tar.gz")) and not is_archive(str(ctx / "notatar.gz"))
    copy_source(inroot, str(rootfs), src("arch.tar.gz"), "/x", False, True)
    assert (rootfs / "x/unpacked/inner.txt").read_text() == "inner"
    assert os.stat(rootfs / "x/unpacked/inner.txt").st_uid == 1234  # an archive keeps owners
    copy_source(inroot, str(rootfs), src("arch.tar.gz"), "/y/", False, False)  # COPY: never unpacks
    assert (rootfs / "y/arch.tar.gz").is_file()
    copy_source(inroot, str(rootfs), src("notatar.gz"), "/z/", False, True)
    assert (rootfs / "z/notatar.gz").is_file()
