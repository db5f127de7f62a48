"""The real registry (Debian's docker-registry, the Docker Distribution registry) for tests:
started on a free loopback port with a generated config and storage in a temp dir, with
no auth, htpasswd (Basic) auth, or token (Bearer) auth; stopped and waited for."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field

REGISTRY_BIN = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RegistryProcess:
    workdir: str
    users: dict[str, str] = field(default_factory=dict)   # htpasswd users, when auth is wanted
    token: dict | None = None      # {"realm", "service", "issuer", "rootcertbundle"}: Bearer auth
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.workdir}/data",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.address}",
            "  secret: pyctr-test-secret",
        ]
        if self.users:
            htpasswd = os.path.join(self.workdir, "htpasswd")
            for i, (user, password) in enumerate(self.users.items()):
                subprocess.run(["htpasswd", "-B", "-b", *(["-c"] if i == 0 else []), htpasswd, user, password],
                               check=True, capture_output=True)
            lines += ["auth:", "  htpasswd:", "    realm: basic-realm", f"    path: {htpasswd}"]
        elif self.token:
            lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in self.token.items()]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20) -> "RegistryProcess":
        os.makedirs(self.workdir, exist_ok=True)
        self.port = self.port or free_port()
        config = os.path.join(self.workdir, "config.yml")
        with open(config, "w") as f:
            f.write(self._config())
        log = open(os.path.join(self.workdir, "registry.log"), "ab")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", config], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {self.proc.returncode}:\n{self.log()}")
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # 401: up, and asking for auth
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.address}:\n{self.log()}")

    def log(self) -> str:
        try:
            with open(os.path.join(self.workdir, "registry.log"), errors="replace") as f:
                return f.read()[-5000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
