"""A tiny container rootfs built from Debian's static busybox, for tests.

`make_busybox_rootfs(path)` fills `path` with bin/busybox, one symlink per
applet (what `busybox --install -s` would make), and a minimal /etc.
"""

from __future__ import annotations

import os
import shutil
import subprocess

BUSYBOX = "/bin/busybox"

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""

GROUP = """root:x:0:
daemon:x:1:
tty:x:5:
staff:x:50:daemon
nogroup:x:65534:
"""


def busybox_applets(busybox: str = BUSYBOX) -> list[str]:
    """Applet paths relative to / (e.g. "bin/sh", "usr/bin/id")."""
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def make_busybox_rootfs(path: str | os.PathLike, busybox: str = BUSYBOX) -> str:
    root = os.fspath(path)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "proc", "sys", "dev", "var"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    shutil.copy2(busybox, os.path.join(root, "bin", "busybox"))
    for applet in busybox_applets(busybox):
        link = os.path.join(root, applet)
        if os.path.lexists(link) or applet == "bin/busybox":
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    for name, text in (("passwd", PASSWD), ("group", GROUP), ("hostname", "localhost\n"),
                       ("hosts", "127.0.0.1\tlocalhost\n")):
        with open(os.path.join(root, "etc", name), "w") as f:
            f.write(text)
    return root
