"""--net=none: the container gets a namespace of its own with only lo (which the
container's init brings up), and nothing else."""

from __future__ import annotations

import os

from .driver import NEW_NAMESPACE, Endpoint, NetworkError, netns_of
from .shared import AddresslessNetwork


class NoneNetwork(AddresslessNetwork):
    driver = "none"
    namespace = NEW_NAMESPACE

    async def connect(self, endpoint: Endpoint, pid: int) -> None:
        if netns_of(pid) == netns_of(os.getpid()):
            raise NetworkError(f"pid {pid} is in the host's network namespace, not one of its own")
