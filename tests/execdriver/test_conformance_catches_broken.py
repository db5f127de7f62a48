"""The conformance suite can fail: each driver of broken.py, run through the whole
suite in a pytest of its own, fails the tests of the clause it breaks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import IMPLEMENTATIONS_ENV

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_execdriver_conformance.py")


@pytest.mark.parametrize("broken,failing", [
    ("ForgetsExitCodes", ["test_run_returns_the_exit_code_and_the_streams",
                          "test_killed_by_a_signal_is_128_plus_the_signal"]),
    ("StatsReadNothing", ["test_pids_and_stats_of_a_running_container"]),
    ("PauseIgnored", ["test_pause_stops_every_process_until_unpause"]),
])
def test_a_broken_driver_fails_the_suite(broken, failing):
    env = dict(os.environ, **{IMPLEMENTATIONS_ENV: f"execdriver.broken:{broken}"})
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", SUITE],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = {line.split("::", 1)[1].split("[", 1)[0] for line in proc.stdout.splitlines()
              if line.startswith("FAILED ")}
    assert set(failing) <= failed, proc.stdout
