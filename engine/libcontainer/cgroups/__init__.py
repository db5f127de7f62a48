"""Container cgroups: one manager interface (manager.py), one module per cgroup version."""

from .manager import CgroupConfig, CgroupError, CgroupManager, DeviceRule, load, new  # noqa: F401
