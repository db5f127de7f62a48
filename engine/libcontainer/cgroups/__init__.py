"""Container cgroups: one manager interface (manager.py), one module per cgroup version
(v1.py, v2.py), and the factory that picks the version (factory.py)."""

from .factory import DRIVER_ENV, choose_driver, host_support, load, new, v1_available
from .manager import (CgroupConfig, CgroupError, CgroupManager, CgroupUsage, DeviceRule, HostSupport,
                      parse_cpu_list)

__all__ = ["DRIVER_ENV", "CgroupConfig", "CgroupError", "CgroupManager", "CgroupUsage", "DeviceRule",
           "HostSupport", "choose_driver", "host_support", "load", "new", "parse_cpu_list",
           "v1_available"]
