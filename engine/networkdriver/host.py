"""--net=host: the container shares the host's network namespace (so the daemon's);
there is nothing to make or give back."""

from __future__ import annotations

import os

from .driver import HOST_NAMESPACE, Endpoint, NetworkError, netns_of
from .shared import AddresslessNetwork


class HostNetwork(AddresslessNetwork):
    driver = "host"
    namespace = HOST_NAMESPACE

    async def connect(self, endpoint: Endpoint, pid: int) -> None:
        if netns_of(pid) != netns_of(os.getpid()):
            raise NetworkError(f"pid {pid} is not in the host's network namespace")
