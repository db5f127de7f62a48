"""The conformance suite can fail: each driver of broken.py, run through the whole
suite in a pytest of its own, fails the tests of the clause it breaks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import IMPLEMENTATIONS_ENV

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_volumedriver_conformance.py")


@pytest.mark.parametrize("broken,failing", [
    ("RemovesHeldVolumes", ["test_a_held_volume_cannot_be_removed"]),
    ("NeverMounts", ["test_a_tmpfs_volume_is_mounted_while_a_container_has_it"]),
    ("TrustsNames", ["test_a_name_that_is_no_name_is_refused"]),
])
def test_a_broken_driver_fails_the_suite(broken, failing):
    env = dict(os.environ, **{IMPLEMENTATIONS_ENV: f"volumedriver.broken:{broken}"})
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", SUITE],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = {line.split("::", 1)[1].split("[", 1)[0] for line in proc.stdout.splitlines()
              if line.startswith("FAILED ")}
    assert set(failing) <= failed, proc.stdout
