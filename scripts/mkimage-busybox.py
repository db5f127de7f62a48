"""Write a busybox root filesystem, as an uncompressed tar, to stdout (for `pyctr import -`).

Built from Debian's static /bin/busybox (package busybox-static), like Docker's
contrib/mkimage-busybox.sh. The builder is shared with the tests."""

import os
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from rootfs import make_busybox_rootfs  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    root = make_busybox_rootfs(os.path.join(tmp, "rootfs"))
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as tar:
        tar.add(root, arcname=".")
