"""Container cgroups: one manager interface (manager.py), one module per cgroup version."""

from .manager import (CgroupConfig, CgroupError, CgroupManager, DeviceRule, HostSupport,
                      host_support, load, new, parse_cpu_list)

__all__ = ["CgroupConfig", "CgroupError", "CgroupManager", "DeviceRule", "HostSupport",
           "host_support", "load", "new", "parse_cpu_list"]
