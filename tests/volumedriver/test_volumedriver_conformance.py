"""The volume driver conformance suite: what the daemon relies on from any
VolumeDriver, run against every implementation (volumedriver.DRIVERS). Drivers
broken in one clause each fail it (test_conformance_catches_broken.py)."""

from __future__ import annotations

import os

import pytest

from pyctr.engine.volumedriver import Volume, VolumeError, VolumeExists, VolumeInUse, VolumeNotFound

ID_A, ID_B = "a" * 64, "b" * 64


def test_an_anonymous_volume_gets_a_fresh_id_and_an_empty_directory(driver):
    one, two = driver.create(), driver.create()
    assert one.name != two.name and len(one.name) == 64 and int(one.name, 16) >= 0
    assert one.driver == driver.name and not one.host_bind
    assert os.path.isdir(one.path) and os.listdir(one.path) == []
    assert os.path.realpath(one.path).startswith(os.path.realpath(driver.root) + "/")


def test_a_named_volume_is_found_listed_and_unique(driver):
    v = driver.create("data")
    assert driver.get("data") == v
    with pytest.raises(VolumeExists):
        driver.create("data")
    anon = driver.create()
    assert [x.name for x in driver.list()] == sorted(["data", anon.name])


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden", "-x"])
def test_a_name_that_is_no_name_is_refused(driver, bad, tmp_path):
    with pytest.raises(VolumeError):
        driver.create(bad)
    assert not (tmp_path / "escape").exists()


def test_get_and_remove_of_an_unknown_volume(driver):
    for call in (lambda: driver.get("nope"), lambda: driver.remove("nope"), lambda: driver.get("../host")):
        with pytest.raises(VolumeNotFound):
            call()


def test_seeding_copies_a_directory_with_links_and_modes(driver, tmp_path):
    seed = tmp_path / "image-content"
    (seed / "sub").mkdir(parents=True)
    (seed / "sub" / "f").write_text("from the image")
    os.symlink("sub/f", seed / "link")
    os.chmod(seed, 0o750)
    v = driver.create(seed_from=str(seed))
    assert open(os.path.join(v.path, "sub", "f")).read() == "from the image"
    assert os.readlink(os.path.join(v.path, "link")) == "sub/f"
    assert os.stat(v.path).st_mode & 0o777 == 0o750
    assert (seed / "sub" / "f").read_text() == "from the image"   # the source is left as it was


def test_data_written_through_the_mount_path_stays_until_remove(driver):
    v = driver.create()
    path = driver.mount(v, ID_A)
    with open(os.path.join(path, "kept"), "w") as f:
        f.write("data")
    driver.unmount(v, ID_A)
    assert open(os.path.join(driver.mount(v, ID_B), "kept")).read() == "data"
    driver.unmount(v, ID_B)
    driver.remove(v.name)
    assert not os.path.exists(v.path)
    assert v not in driver.list()


def test_a_held_volume_cannot_be_removed(driver):
    v = driver.create()
    driver.mount(v, ID_A)
    driver.mount(v, ID_A)   # holding twice counts once
    driver.mount(v, ID_B)
    assert driver.users(v) == {ID_A, ID_B}
    driver.unmount(v, ID_A)
    assert driver.users(v) == {ID_B}
    with pytest.raises(VolumeInUse):
        driver.remove(v.name)
    assert os.path.isdir(v.path)
    driver.unmount(v, ID_B)
    driver.unmount(v, ID_B)   # a no-op now
    assert driver.users(v) == set()
    driver.remove(v.name)


def test_a_host_bind_is_the_hosts_directory_and_is_never_the_drivers(driver, outside, tmp_path):
    b = driver.bind(str(outside))
    assert b.host_bind and b.path == str(outside)
    assert driver.mount(b, ID_A) == str(outside)
    assert driver.users(b) == {ID_A}
    assert b not in driver.list()
    driver.unmount(b, ID_A)
    made = driver.bind(str(tmp_path / "made" / "here"))   # a missing host directory is made
    assert os.path.isdir(made.path)
    assert (outside / "sentinel").read_text() == "the host's own"


def test_at_finds_a_volume_again_from_its_path(driver, outside):
    # The daemon's records keep host paths: `at` must give back the same volume, with
    # the same holders, as a container that restarts needs.
    v = driver.create()
    driver.mount(v, ID_A)
    again = driver.at(v.path)
    assert again == v and driver.users(again) == {ID_A}
    assert driver.at(str(outside)) == driver.bind(str(outside))
    driver.unmount(again, ID_A)


def test_a_fresh_driver_on_the_same_root_finds_the_volumes(driver):
    v = driver.create("kept")
    fresh = type(driver)(driver.root)
    assert fresh.get("kept") == v and fresh.users(v) == set()
    assert isinstance(fresh.list()[0], Volume)
