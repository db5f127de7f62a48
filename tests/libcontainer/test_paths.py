"""resolve_in_root: the one walker behind mount destinations, image paths and build
contexts, with each caller's escape policy."""

from __future__ import annotations

import os

import pytest

from pyctr.engine.libcontainer.paths import PathEscape, resolve_in_root


@pytest.fixture
def root(tmp_path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    os.symlink("usr/lib", tmp_path / "lib")          # relative, inside
    os.symlink("/usr/lib", tmp_path / "abs")         # absolute
    os.symlink("../../..", tmp_path / "usr" / "up")  # climbs above the root
    os.symlink("loop", tmp_path / "loop")
    return str(tmp_path)


def test_relative_links_are_followed_inside(root):
    for clamp, reroot in ((False, False), (True, True), (False, True)):
        assert resolve_in_root(root, "/lib/x", clamp_above_root=clamp, reroot_absolute=reroot) == \
            os.path.join(root, "usr/lib/x")


def test_absolute_links_restart_from_the_root_or_are_refused(root):
    assert resolve_in_root(root, "abs/x", clamp_above_root=True, reroot_absolute=True) == \
        os.path.join(root, "usr/lib/x")
    with pytest.raises(PathEscape) as err:
        resolve_in_root(root, "abs/x", clamp_above_root=False, reroot_absolute=False)
    assert err.value.kind == "absolute_link" and err.value.link == "abs -> /usr/lib"


def test_climbing_above_the_root_is_clamped_or_refused(root):
    assert resolve_in_root(root, "usr/up/etc/passwd", clamp_above_root=True, reroot_absolute=True) == \
        os.path.join(root, "etc/passwd")
    assert resolve_in_root(root, "../../etc", clamp_above_root=True, reroot_absolute=True) == \
        os.path.join(root, "etc")
    with pytest.raises(PathEscape) as err:
        resolve_in_root(root, "usr/up/etc/passwd", clamp_above_root=False, reroot_absolute=True)
    assert err.value.kind == "above_root" and err.value.link == "usr/up -> ../../.."
    with pytest.raises(PathEscape) as err:
        resolve_in_root(root, "../etc", clamp_above_root=False, reroot_absolute=True)
    assert err.value.kind == "above_root" and err.value.link == ""


def test_symlink_loops_end(root):
    with pytest.raises(PathEscape) as err:
        resolve_in_root(root, "loop/x", clamp_above_root=True, reroot_absolute=True)
    assert err.value.kind == "loop"
