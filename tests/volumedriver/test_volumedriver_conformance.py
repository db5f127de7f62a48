"""The volume driver conformance suite: what the daemon relies on from any
VolumeDriver, run against every implementation (volumedriver.DRIVERS), on the real
kernel (typed volumes mount). Drivers broken in one clause each fail it
(test_conformance_catches_broken.py)."""

from __future__ import annotations

import os
import threading

import pytest

from pyctr.engine.volumedriver import (VolumeBadRequest, VolumeError, VolumeExists, VolumeInUse,
                                       VolumeNotFound)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts)")

ID_A, ID_B = "a" * 64, "b" * 64
TMPFS = {"type": "tmpfs", "device": "tmpfs", "o": "size=4m"}


def mounted(path: str) -> bool:
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == real for line in f)


def entries(driver) -> list[str]:
    return sorted(os.listdir(driver.root))


def test_a_new_volume_is_an_empty_directory_under_the_root_with_its_labels(driver):
    v = driver.create("data", labels={"keep": "1"})
    assert v.name == "data" and v.driver == driver.name and v.labels == {"keep": "1"} and v.options == {}
    assert os.path.isdir(v.mountpoint) and os.listdir(v.mountpoint) == []
    assert os.path.realpath(v.mountpoint).startswith(os.path.realpath(driver.root) + "/")
    assert v.created_at


def test_a_named_volume_is_found_listed_and_unique(driver):
    v = driver.create("data")
    assert driver.get("data") == v
    with pytest.raises(VolumeExists):
        driver.create("data")
    driver.create("other")
    assert [x.name for x in driver.list()] == ["data", "other"]


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden", "-x", "x"])
def test_a_name_that_is_no_name_is_refused(driver, bad, tmp_path):
    before = entries(driver)
    with pytest.raises(VolumeBadRequest):
        driver.create(bad)
    assert not (tmp_path / "escape").exists()
    assert entries(driver) == before


def test_get_and_remove_of_an_unknown_volume(driver):
    with pytest.raises(VolumeNotFound):
        driver.get("nothing")
    with pytest.raises(VolumeNotFound):
        driver.remove("nothing")


def test_data_written_through_the_mountpoint_stays_until_remove(driver):
    v = driver.create("keep")
    with open(os.path.join(v.mountpoint, "f"), "w") as f:
        f.write("data")
    driver.mount(v, ID_A)
    driver.unmount(v, ID_A)
    assert open(os.path.join(driver.get("keep").mountpoint, "f")).read() == "data"
    driver.release(v, ID_A)
    driver.remove("keep")
    with pytest.raises(VolumeNotFound):
        driver.get("keep")
    assert entries(driver) == []


def test_a_held_volume_cannot_be_removed(driver):
    v = driver.create("held")
    driver.hold(v, ID_A)
    driver.hold(v, ID_A)    # twice counts once
    driver.hold(v, ID_B)
    assert driver.users(v) == {ID_A, ID_B}
    with pytest.raises(VolumeInUse):
        driver.remove("held")
    driver.release(v, ID_A)
    with pytest.raises(VolumeInUse):
        driver.remove("held")
    driver.release(v, ID_B)
    driver.release(v, ID_B)   # a no-op
    driver.remove("held")


def test_a_mounted_volume_is_held(driver):
    v = driver.create("mnt")
    assert driver.mount(v, ID_A) == v.mountpoint
    with pytest.raises(VolumeInUse):
        driver.remove("mnt")
    driver.unmount(v, ID_A)
    assert driver.users(v) == {ID_A}   # unmounted, still referred to
    driver.release(v, ID_A)
    driver.remove("mnt")


def test_unknown_options_are_refused_before_anything_is_made(driver):
    before = entries(driver)
    for options in ({"colour": "red"}, {"type": "tmpfs"}, {"device": "tmpfs", "type": "nosuchfs"},
                    {"type": "tmpfs", "device": "tmpfs", "o": "size=lots"},
                    {"type": "none", "device": "/no/such/dir", "o": "bind"}):
        with pytest.raises(VolumeBadRequest):
            driver.create("bad", options)
        assert entries(driver) == before
    assert not mounted(os.path.join(driver.root, "bad", "_data"))


def test_a_tmpfs_volume_is_mounted_while_a_container_has_it(driver):
    v = driver.create("scratch", TMPFS)
    assert v.options == TMPFS and not mounted(v.mountpoint)
    path = driver.mount(v, ID_A)
    assert mounted(path)
    with open(os.path.join(path, "f"), "w") as f:
        f.write("x")
    driver.mount(v, ID_B)
    driver.unmount(v, ID_A)
    assert mounted(path) and os.path.exists(os.path.join(path, "f"))   # B still has it
    driver.unmount(v, ID_B)
    assert not mounted(path)
    driver.release(v, ID_A)
    driver.release(v, ID_B)
    driver.remove("scratch")
    assert entries(driver) == []


def test_a_bind_volume_shows_the_host_directory_and_never_deletes_it(driver, outside):
    v = driver.create("hostdir", {"type": "none", "device": str(outside), "o": "bind"})
    path = driver.mount(v, ID_A)
    assert open(os.path.join(path, "sentinel")).read() == "the host's own"
    driver.unmount(v, ID_A)
    driver.release(v, ID_A)
    driver.remove("hostdir")
    assert (outside / "sentinel").read_text() == "the host's own"


def test_creating_one_name_at_once_ends_with_one_volume(driver):
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def create():
        barrier.wait()
        try:
            driver.create("raced", labels={"who": threading.current_thread().name})
            outcomes.append("made")
        except VolumeExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["exists"] * 5 + ["made"]
    assert [v.name for v in driver.list()] == ["raced"]
    assert entries(driver) == ["raced"]


def test_a_fresh_driver_on_the_same_root_finds_the_volumes_and_sweeps_leftovers(driver):
    v = driver.create("lasting", {"type": "tmpfs", "device": "tmpfs"}, {"k": "v"})
    driver.mount(v, ID_A)   # then the daemon dies: the mount stays
    os.makedirs(os.path.join(driver.root, ".new-cut-short", "_data"))
    again = type(driver)(driver.root)
    assert again.get("lasting") == v and again.get("lasting").labels == {"k": "v"}
    again.sweep()   # nobody told it that a container has the volume: unmounted
    assert not mounted(v.mountpoint)
    assert entries(again) == ["lasting"]


def test_sweep_keeps_what_a_container_still_has_mounted(driver):
    v = driver.create("live", TMPFS)
    driver.mount(v, ID_A)
    again = type(driver)(driver.root)
    again.mount(again.get("live"), ID_A)   # a live-restored container has it
    again.sweep()
    assert mounted(v.mountpoint)
    again.unmount(v, ID_A)
    assert not mounted(v.mountpoint)


def test_a_volume_error_names_the_volume(driver):
    v = driver.create("named-in-errors")
    driver.hold(v, ID_A)
    with pytest.raises(VolumeError, match="named-in-errors"):
        driver.remove("named-in-errors")
    driver.release(v, ID_A)
    driver.remove("named-in-errors")


def test_a_removed_volume_cannot_be_held(driver):
    v = driver.create("gone")
    driver.remove("gone")
    with pytest.raises(VolumeNotFound):
        driver.hold(v, ID_A)
    with pytest.raises(VolumeNotFound):
        driver.mount(v, ID_A)
    assert driver.users(v) == set()
