"""Volume drivers broken in one clause each of the interface, to show that the
conformance suite fails them (test_conformance_catches_broken.py)."""

from __future__ import annotations

import shutil

from pyctr.engine.volumedriver.local import LocalDriver


class RemovesHeldVolumes(LocalDriver):
    """Deletes a volume that containers still hold."""

    def remove(self, name):
        shutil.rmtree(self.get(name).path)


class ForgetsSeeds(LocalDriver):
    """Ignores the content a new volume should start with."""

    def create(self, name=None, seed_from=None):
        return super().create(name)


class TrustsNames(LocalDriver):
    """Takes any name as a directory name, `..` and `/` included."""

    def create(self, name=None, seed_from=None):
        import os
        if name is not None:
            os.makedirs(os.path.join(self.root, name), exist_ok=False)
            return self._volume(name)
        return super().create(None, seed_from)
