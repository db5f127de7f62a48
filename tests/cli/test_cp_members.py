"""`pyctr cp`'s own check of a streamed tar's members, for Pythons without tarfile's
extraction filters (Debian 12's 3.11.2): names and links must stay inside HOSTPATH."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from pyctr.shell.cmd_containers import _inside
from pyctr.shell.context import CLIError


def stream(entries: list[tuple[str, str, str]]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, link in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
                continue
            info.type, info.linkname = (tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE), link
            tar.addfile(info)
    buf.seek(0)
    return buf


def extract(entries, dest: str) -> list[str]:
    with tarfile.open(fileobj=stream(entries), mode="r|*") as tar:
        tar.extractall(dest, members=_inside(tar, dest))
    return sorted(os.listdir(dest))


def test_names_inside_are_extracted_and_a_leading_slash_is_dropped(tmp_path):
    assert extract([("a", "file", ""), ("/b", "file", ""), ("l", "sym", "a"), ("h", "lnk", "a")],
                   str(tmp_path)) == ["a", "b", "h", "l"]


@pytest.mark.parametrize("entries", [
    [("../x", "file", "")], [("d/../../x", "file", "")], [("l", "sym", "../../etc")],
    [("l", "sym", "/etc")], [("h", "lnk", "../x")]])
def test_a_way_out_is_refused(tmp_path, entries):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(CLIError, match="outside"):
        extract(entries, str(dest))
    assert not (tmp_path / "x").exists()
