"""Fixtures for the archive tests."""

import pytest


@pytest.fixture
def layout(tmp_path):
    """(dest, outside): unpack into dest; outside is its parent, which must stay untouched."""
    dest = tmp_path / "root"
    dest.mkdir()
    return str(dest), str(tmp_path)
