"""Volume drivers broken in one clause each of the interface, to show that the
conformance suite fails them (test_conformance_catches_broken.py)."""

from __future__ import annotations

import os
import shutil

from pyctr.engine.volumedriver.local import LocalDriver


class RemovesHeldVolumes(LocalDriver):
    """Deletes a volume that containers still hold."""

    def remove(self, name):
        shutil.rmtree(os.path.dirname(self.get(name).mountpoint))


class NeverMounts(LocalDriver):
    """Ignores a typed volume's options: its data is the plain directory."""

    def mount(self, volume, container_id):
        self.hold(volume, container_id)
        return volume.mountpoint


class TrustsNames(LocalDriver):
    """Takes any name as a directory name, `..` and `/` included."""

    def create(self, name, options=None, labels=None):
        if not name or "/" in name or name.startswith("."):
            os.makedirs(os.path.join(self.root, name or "empty", "_data"), exist_ok=True)
            return None
        return super().create(name, options, labels)
