"""--net=container:X: the container joins the network namespace of X's process
(EndpointRequest.join_pid), with X's interfaces and address."""

from __future__ import annotations

import os

from .driver import JOINED_NAMESPACE, Endpoint, EndpointRequest, NetworkError, netns_of
from .shared import AddresslessNetwork


class ContainerNetwork(AddresslessNetwork):
    driver = "container"
    namespace = JOINED_NAMESPACE

    def _join_pid(self, request: EndpointRequest) -> int:
        if request.join_pid <= 0 or not os.path.exists(f"/proc/{request.join_pid}/ns/net"):
            raise NetworkError(f"cannot join the network of pid {request.join_pid}: no such process")
        return request.join_pid

    async def connect(self, endpoint: Endpoint, pid: int) -> None:
        try:
            shared = netns_of(pid) == netns_of(endpoint.join_pid)
        except FileNotFoundError:
            raise NetworkError(f"the container whose network pid {pid} joins (pid {endpoint.join_pid}) "
                               "is gone") from None
        if not shared:
            raise NetworkError(f"pid {pid} is not in the network namespace of pid {endpoint.join_pid}")
