"""Container cgroups: one manager interface (manager.py), one module per cgroup version."""

from .manager import (CgroupConfig, CgroupError, CgroupManager, DeviceRule, HostSupport,  # noqa: F401
                      host_support, load, new, parse_cpu_list)
