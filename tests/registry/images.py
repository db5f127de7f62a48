"""Build image blobs and manifests in a test and put them into a real registry with a
plain HTTP client (http.client), the way any registry client would."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import tarfile
from dataclasses import dataclass, field

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Layer:
    gz: bytes
    diff_id: str

    @property
    def digest(self) -> str:
        return sha(self.gz)


def make_layer(files: dict[str, bytes], whiteouts: tuple[str, ...] = ()) -> Layer:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set()
        for name in sorted(files):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 1_600_000_000
            tar.addfile(info, io.BytesIO(files[name]))
        for name in whiteouts:
            head, _, base = name.rpartition("/")
            info = tarfile.TarInfo(f"{head}/.wh.{base}" if head else f".wh.{base}")
            tar.addfile(info, io.BytesIO(b""))
    data = raw.getvalue()
    return Layer(gzip.compress(data, mtime=0), sha(data))


def make_config(layers: list[Layer], cmd: list[str] | None = None, arch: str = "amd64",
                history: list[str] | None = None, env: list[str] | None = None) -> bytes:
    history = history or [f"layer {i}" for i in range(len(layers))]
    return json.dumps({
        "architecture": arch, "os": "linux", "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": cmd or ["sh"], "Env": env or ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": h} for h in history],
    }, sort_keys=True).encode()


def make_manifest(config: bytes, layers: list[Layer], media_type: str = DOCKER_V2) -> bytes:
    oci = media_type == OCI_MANIFEST
    return json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json" if oci else
                   "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": sha(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip" if oci else
                    "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(l.gz), "digest": l.digest} for l in layers],
    }).encode()


def make_list(entries: list[tuple[bytes, str]], media_type: str = DOCKER_LIST) -> bytes:
    """entries: (manifest bytes, arch)."""
    return json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "manifests": [{"mediaType": DOCKER_V2, "size": len(m), "digest": sha(m),
                       "platform": {"architecture": arch, "os": "linux"}} for m, arch in entries],
    }).encode()


@dataclass
class RegistryHTTP:
    address: str                       # 127.0.0.1:PORT
    user: str = ""
    password: str = ""
    headers: dict = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        host, port = self.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        all_headers = dict(headers or {})
        if self.user:
            all_headers["Authorization"] = "Basic " + base64.b64encode(
                f"{self.user}:{self.password}".encode()).decode()
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def put_blob(self, repo: str, data: bytes) -> str:
        digest = sha(data)
        status, headers, body = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert status == 202, (status, body)
        location = headers["Location"]
        path = location.split(self.address, 1)[-1]
        path += ("&" if "?" in path else "?") + "digest=" + digest
        status, _, body = self.request("PUT", path, data,
                                       {"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)
        return digest

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        status, headers, body = self.request("PUT", f"/v2/{repo}/manifests/{ref}", data,
                                             {"Content-Type": media_type})
        assert status == 201, (status, body)
        return headers.get("Docker-Content-Digest", sha(data))

    def put_image(self, repo: str, tag: str, layers: list[Layer], config: bytes,
                  media_type: str = DOCKER_V2) -> str:
        """Blobs, then the manifest under `tag`; returns the manifest digest."""
        for layer in layers:
            self.put_blob(repo, layer.gz)
        self.put_blob(repo, config)
        return self.put_manifest(repo, tag, make_manifest(config, layers, media_type), media_type)
