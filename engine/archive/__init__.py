"""Tar work for layers: safe unpacking, packing, and filesystem changes.

Every function here blocks (disk and CPU); the daemon runs them in worker threads.
"""

from .changes import Change, changes_dirs, changes_size, overlay_changes
from .compression import Compression, decompressed, detect
from .errors import ArchiveError
from .pack import pack_changes, pack_dir, write_to
from .unpack import Whiteouts, unpack

__all__ = [
    "ArchiveError", "Change", "Compression", "Whiteouts", "changes_dirs", "changes_size", "decompressed",
    "detect", "overlay_changes", "pack_changes", "pack_dir", "unpack", "write_to",
]
