"""What the drivers without an address of their own (host, none, container:) share:
an endpoint is only a record, and publishing ports or link rules are refused (the
daemon does not ask: with these modes Docker 1.2 published nothing and refused links)."""

from __future__ import annotations

from .driver import Endpoint, EndpointRequest, Network, NetworkError


class AddresslessNetwork(Network):
    def __init__(self) -> None:
        super().__init__()
        self.opened = False

    async def open(self) -> None:
        self.opened = True

    async def allocate(self, request: EndpointRequest) -> Endpoint:
        if not self.opened:
            raise NetworkError(f"network {self.name} is not open")
        if request.publish:
            raise NetworkError(f"--net={self.driver} publishes no ports: the container has no address of its own")
        if request.links:
            raise NetworkError(f"--net={self.driver} can't be used with links")
        self.endpoints.pop(request.id, None)
        endpoint = Endpoint(request.id, self.name, self.namespace, join_pid=self._join_pid(request))
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def _join_pid(self, request: EndpointRequest) -> int:
        return 0

    async def release(self, endpoint: Endpoint) -> None:
        self.endpoints.pop(endpoint.id, None)

    async def shutdown(self) -> None:
        await super().shutdown()
        self.opened = False
