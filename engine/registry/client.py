"""A Distribution (v2) API client over aiohttp: one per (registry, repository, credentials).

It picks the endpoint (HTTPS, then plain HTTP where insecure is allowed), answers auth
challenges (Basic, or Bearer tokens per scope) and maps registry errors to engine
errors with messages a user can act on. Blobs are streamed and verified while they
are read; uploads go monolithic (one PUT) or, for large blobs, in PATCH chunks."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import ssl
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Iterable
from urllib.parse import urlencode, urljoin

import aiohttp

from .. import barepackage
from .auth import Challenge, Credentials, parse_challenges
from .endpoints import Endpoint, RegistryConfig
from .errors import DigestMismatch, RegistryError, Unauthorized, Unreachable, UnknownManifest
from .manifest import ACCEPT

log = logging.getLogger("pyctr.registry")

Progress = Callable[[int], Awaitable[None] | None]  # bytes done so far
CHUNK_UPLOAD = 16 << 20      # blobs above this go up in PATCH chunks of this size
_WRITE_BATCH = 4 << 20       # download bytes gathered per worker-thread write + hash
_working: dict[str, Endpoint] = {}  # index -> the endpoint that answered last time


@contextlib.asynccontextmanager
async def new_session() -> AsyncIterator[aiohttp.ClientSession]:
    await barepackage.loaded("aiohttp")   # pyctrd imports aiohttp's client with the first pull
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=16),
                                     auto_decompress=False) as session:
        yield session


def _error_text(status: int, body: bytes) -> str:
    """The registry's `{"errors": [{code, message, detail}]}` as one line."""
    try:
        errors = json.loads(body).get("errors") or []
        parts = []
        for e in errors:
            message = str(e.get("message") or e.get("code") or "").strip()
            code = str(e.get("code") or "").lower().replace("_", " ")
            parts.append(f"{code}: {message}" if code and code != message.lower() else message)
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    text = body.decode(errors="replace").strip()
    return text[:200] or f"HTTP {status}"


@dataclass
class Blob:
    digest: str
    size: int


class RegistryClient:
    def __init__(self, session: aiohttp.ClientSession, config: RegistryConfig, index: str,
                 credentials: Credentials, repository: str = "", actions: str = "pull") -> None:
        self.session = session
        self.config = config
        self.index = index
        self.credentials = credentials
        self.repository = repository          # the remote name, "library/busybox"
        self.actions = actions
        self.endpoint: Endpoint | None = None
        self._challenge: Challenge | None = None
        self._tokens: dict[str, str] = {}     # scope -> bearer token

    # --- endpoint and auth ----------------------------------------------------------
    @property
    def base(self) -> str:
        assert self.endpoint is not None
        return self.endpoint.url

    def _ssl(self, endpoint: Endpoint) -> ssl.SSLContext | bool | None:
        return False if endpoint.insecure and endpoint.url.startswith("https") else None

    async def connect(self, endpoints: Iterable[Endpoint] | None = None) -> None:
        """Find an endpoint that speaks v2 (GET /v2/), remember its auth challenge,
        and check the credentials (a 401 after authenticating means they are wrong)."""
        if self.endpoint is not None:
            return
        candidates = list(endpoints or self.config.endpoints(self.index))
        known = _working.get(self.index)
        if known in candidates:
            candidates.remove(known)
            candidates.insert(0, known)
        errors = []
        for endpoint in candidates:
            try:
                async with self.session.get(endpoint.url + "/v2/", ssl=self._ssl(endpoint),
                                            allow_redirects=True) as resp:
                    body = await resp.read()
                    status, header = resp.status, resp.headers.get("WWW-Authenticate", "")
            except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError, OSError) as exc:
                errors.append(f"{endpoint.url}: {exc or type(exc).__name__}")
                continue
            if status == 404 and not endpoint.mirror:
                errors.append(f"{endpoint.url}: no v2 registry API here (GET /v2/ answered 404)")
                continue
            if status >= 500:
                errors.append(f"{endpoint.url}: HTTP {status} {_error_text(status, body)}")
                continue
            self.endpoint = endpoint
            _working[self.index] = endpoint
            if status == 401:
                challenges = parse_challenges(header)
                self._challenge = (next((c for c in challenges if c.scheme == "bearer"), None)
                                   or next((c for c in challenges if c.scheme == "basic"), None))
                if self._challenge is None:
                    raise RegistryError(f"registry {self.index} asks for unknown auth: {header!r}")
            return
        raise Unreachable(f"registry {self.index} is not reachable: " + "; ".join(errors))

    def _scope(self, repository: str | None = None, actions: str | None = None) -> str:
        return f"repository:{repository or self.repository}:{actions or self.actions}"

    async def _token(self, scope: str) -> str:
        if scope in self._tokens:
            return self._tokens[scope]
        creds = self.credentials
        if creds.registry_token:
            return creds.registry_token
        assert self._challenge is not None
        realm = self._challenge.params.get("realm", "")
        if not realm:
            raise RegistryError(f"registry {self.index}: bearer challenge without a realm")
        query = {"service": self._challenge.params.get("service", "")}
        if scope:
            query["scope"] = scope
        headers = {}
        try:
            if creds.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                        "client_id": "pyctr", **query}
                ctx = self.session.post(realm, data=form)
            else:
                if creds.username:
                    query["account"] = creds.username
                    headers["Authorization"] = creds.basic_header()
                ctx = self.session.get(realm + ("&" if "?" in realm else "?") + urlencode(query),
                                       headers=headers)
            async with ctx as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise Unreachable(f"auth server {realm} is not reachable: {exc}") from None
        if status in (401, 403):
            raise Unauthorized(f"login to {self.index} failed: unauthorized: incorrect username "
                               f"or password ({_error_text(status, body)})")
        if status != 200:
            raise RegistryError(f"auth server {realm}: HTTP {status} {_error_text(status, body)}")
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise RegistryError(f"auth server {realm} answered without a token")
        self._tokens[scope] = token
        return token

    async def _auth_header(self, scope: str) -> dict[str, str]:
        if self._challenge is None:
            return {}
        if self._challenge.scheme == "basic":
            if self.credentials.anonymous:
                raise Unauthorized(f"registry {self.index} requires authentication: "
                                   f"log in first (pyctr login {self.index})")
            return {"Authorization": self.credentials.basic_header()}
        return {"Authorization": "Bearer " + await self._token(scope)}

    async def authorize(self) -> None:
        """Connect and get the auth for this repository now, so that missing or wrong
        credentials fail before any progress has been streamed."""
        await self.connect()
        await self._auth_header(self._scope())

    async def login(self) -> None:
        """Check the credentials: authenticate against /v2/ (Basic) or the token realm."""
        await self.connect()
        if self._challenge is None:
            return  # an open registry: any credentials do
        scope = "" if self._challenge.scheme == "bearer" else self._scope()
        headers = await self._auth_header(scope)
        async with self.session.get(self.base + "/v2/", headers=headers,
                                    ssl=self._ssl(self.endpoint)) as resp:
            body = await resp.read()
            if resp.status == 401:
                raise Unauthorized(f"login to {self.index} failed: unauthorized: incorrect username "
                                   f"or password")
            if resp.status != 200:
                raise RegistryError(f"login to {self.index}: HTTP {resp.status} "
                                    f"{_error_text(resp.status, body)}")

    # --- requests -------------------------------------------------------------------
    async def request(self, method: str, path: str, *, scope: str | None = None,
                      headers: dict[str, str] | None = None, data=None,
                      absolute: bool = False) -> aiohttp.ClientResponse:
        """Send with auth; on a 401 with a new challenge (e.g. a wider scope), retry once.
        The caller reads and releases the response."""
        await self.connect()
        url = path if absolute else self.base + path
        scope = self._scope() if scope is None else scope
        for attempt in (0, 1):
            all_headers = dict(headers or {})
            all_headers.update(await self._auth_header(scope))
            try:
                resp = await self.session.request(method, url, headers=all_headers, data=data,
                                                  ssl=self._ssl(self.endpoint))
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                raise Unreachable(f"{method} {url}: {exc or type(exc).__name__}") from None
            if resp.status != 401 or attempt:
                return resp
            challenges = parse_challenges(resp.headers.get("WWW-Authenticate", ""))
            challenge = (next((c for c in challenges if c.scheme == "bearer"), None)
                         or next((c for c in challenges if c.scheme == "basic"), None))
            if challenge is None:
                return resp
            resp.release()
            # A new challenge (a wider scope, an expired token): take it and try once more.
            self._challenge = challenge
            if challenge.scheme == "bearer":
                scope = challenge.params.get("scope", scope)
                self._tokens.pop(scope, None)
        raise AssertionError("unreachable")

    async def _check(self, resp: aiohttp.ClientResponse, what: str, ok: tuple[int, ...] = (200,)) -> bytes:
        body = await resp.read()
        if resp.status in ok:
            return body
        text = _error_text(resp.status, body)
        if resp.status == 401:
            raise Unauthorized(f"{what}: unauthorized: {text}")
        if resp.status == 404:
            raise UnknownManifest(f"{what}: not found: {text}")
        if resp.status == 403:
            raise Unauthorized(f"{what}: denied: {text}")
        raise RegistryError(f"{what}: HTTP {resp.status}: {text}")

    # --- manifests ------------------------------------------------------------------
    async def get_manifest(self, ref: str) -> tuple[str, bytes, str]:
        """(content type, raw bytes, digest) of the manifest `ref` (a tag or a digest).
        A manifest asked for by digest must hash to it."""
        resp = await self.request("GET", f"/v2/{self.repository}/manifests/{ref}",
                                  headers={"Accept": ACCEPT})
        async with resp:
            name = f"{self.index}/{self.repository}".removeprefix("docker.io/library/")
            if resp.status == 404:
                body = await resp.read()
                text = _error_text(404, body)
                raise UnknownManifest(f"manifest for {name}:{ref} not found: {text}"
                                      if not ref.startswith("sha256:") else
                                      f"manifest {name}@{ref} not found: {text}")
            raw = await self._check(resp, f"manifest {name}:{ref}")
            ctype = resp.headers.get("Content-Type", "")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if ref.startswith("sha256:") and digest != ref:
            raise DigestMismatch(f"manifest verification failed for digest {ref}: got {digest}")
        return ctype, raw, digest

    async def put_manifest(self, ref: str, media_type: str, raw: bytes) -> str:
        resp = await self.request("PUT", f"/v2/{self.repository}/manifests/{ref}",
                                  scope=self._scope(actions="pull,push"),
                                  headers={"Content-Type": media_type}, data=raw)
        async with resp:
            await self._check(resp, f"put manifest {ref}", ok=(200, 201, 202))
            return resp.headers.get("Docker-Content-Digest") or \
                "sha256:" + hashlib.sha256(raw).hexdigest()

    async def tags(self) -> list[str]:
        out: list[str] = []
        path = f"/v2/{self.repository}/tags/list"
        while path:
            resp = await self.request("GET", path)
            async with resp:
                if resp.status == 404:
                    raise UnknownManifest(f"repository {self.index}/{self.repository} not found")
                body = await self._check(resp, f"tags of {self.repository}")
                path = _next_link(resp.headers.get("Link", ""))
            out.extend(json.loads(body).get("tags") or [])
        return out

    async def catalog(self) -> list[str]:
        out: list[str] = []
        path = "/v2/_catalog?n=1000"
        while path:
            resp = await self.request("GET", path, scope="registry:catalog:*")
            async with resp:
                body = await self._check(resp, f"catalog of {self.index}")
                path = _next_link(resp.headers.get("Link", ""))
            out.extend(json.loads(body).get("repositories") or [])
        return out

    async def search_v1(self, term: str) -> list[dict] | None:
        """The v1 search endpoint's results, or None when this registry has none."""
        resp = await self.request("GET", "/v1/search?" + urlencode({"q": term}), scope="")
        async with resp:
            if resp.status in (404, 405, 401):
                return None
            body = await self._check(resp, "search")
        try:
            return list(json.loads(body).get("results") or [])
        except (ValueError, AttributeError):
            return None

    # --- blobs ----------------------------------------------------------------------
    async def fetch_blob(self, digest: str, size: int, out, progress: Progress | None = None) -> None:
        """Stream blob `digest` into the binary file `out`, verifying size and digest as it
        goes. The file's content is only to be trusted when this returns."""
        resp = await self.request("GET", f"/v2/{self.repository}/blobs/{digest}")
        async with resp:
            await self._check_status_only(resp, f"blob {digest}")
            h = hashlib.sha256()
            done = 0
            batch: list[bytes] = []
            pending = 0

            def flush(chunks: list[bytes]) -> None:
                data = b"".join(chunks)
                h.update(data)
                out.write(data)

            try:
                async for chunk in resp.content.iter_chunked(1 << 20):
                    batch.append(chunk)
                    pending += len(chunk)
                    done += len(chunk)
                    if size and done > size:
                        raise DigestMismatch(f"blob {digest} is larger than its {size} bytes")
                    if pending >= _WRITE_BATCH:
                        await asyncio.to_thread(flush, batch)
                        batch, pending = [], 0
                        if progress:
                            await _call(progress, done)
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                raise RegistryError(f"download of {digest} failed after {done} of {size} bytes: "
                                    f"{exc or type(exc).__name__}") from None
            if batch:
                await asyncio.to_thread(flush, batch)
            if progress:
                await _call(progress, done)
        if size and done != size:
            raise RegistryError(f"download of {digest} ended after {done} of {size} bytes")
        got = "sha256:" + h.hexdigest()
        if got != digest:
            raise DigestMismatch(f"filesystem layer verification failed for digest {digest} "
                                 f"(the registry sent {got})")

    async def open_blob(self, digest: str) -> aiohttp.ClientResponse:
        """The open response for blob `digest` (the caller reads, verifies and releases it)."""
        resp = await self.request("GET", f"/v2/{self.repository}/blobs/{digest}")
        if resp.status != 200:
            async with resp:
                await self._check(resp, f"blob {digest}")
        return resp

    async def _check_status_only(self, resp: aiohttp.ClientResponse, what: str) -> None:
        if resp.status == 200:
            return
        await self._check(resp, what)

    async def blob_exists(self, digest: str) -> bool:
        resp = await self.request("HEAD", f"/v2/{self.repository}/blobs/{digest}",
                                  scope=self._scope(actions="pull,push"))
        async with resp:
            if resp.status == 404:
                return False
            await self._check(resp, f"blob {digest}")
            return True

    async def mount_blob(self, digest: str, source_repository: str) -> str | None:
        """Ask the registry to link `digest` from another of its repositories. None when
        it did; else the upload URL it opened instead."""
        query = urlencode({"mount": digest, "from": source_repository})
        scope = f"{self._scope(actions='pull,push')} {self._scope(source_repository, 'pull')}"
        resp = await self.request("POST", f"/v2/{self.repository}/blobs/uploads/?{query}", scope=scope)
        async with resp:
            await self._check(resp, f"mount {digest}", ok=(201, 202))
            if resp.status == 201:
                return None
            return urljoin(self.base + "/", resp.headers.get("Location", ""))

    async def upload_blob(self, path: str, digest: str, size: int,
                          progress: Progress | None = None, location: str | None = None) -> None:
        """Upload the file at `path` as blob `digest`: one PUT when small, else PATCH chunks."""
        scope = self._scope(actions="pull,push")
        if location is None:
            resp = await self.request("POST", f"/v2/{self.repository}/blobs/uploads/", scope=scope)
            async with resp:
                await self._check(resp, "start upload", ok=(202,))
                location = urljoin(self.base + "/", resp.headers.get("Location", ""))
        if size <= CHUNK_UPLOAD:
            data = await asyncio.to_thread(_read_range, path, 0, size)
            resp = await self.request("PUT", _with_digest(location, digest), scope=scope, absolute=True,
                                      headers={"Content-Type": "application/octet-stream"}, data=data)
            async with resp:
                await self._check(resp, f"upload {digest}", ok=(201, 204))
            if progress:
                await _call(progress, size)
            return
        offset = 0
        while offset < size:
            n = min(CHUNK_UPLOAD, size - offset)
            data = await asyncio.to_thread(_read_range, path, offset, n)
            resp = await self.request(
                "PATCH", location, scope=scope, absolute=True, data=data,
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + n - 1}"})
            async with resp:
                await self._check(resp, f"upload {digest} at {offset}", ok=(202, 204))
                location = urljoin(self.base + "/", resp.headers.get("Location", location))
            offset += n
            if progress:
                await _call(progress, offset)
        resp = await self.request("PUT", _with_digest(location, digest), scope=scope, absolute=True,
                                  headers={"Content-Length": "0"}, data=b"")
        async with resp:
            await self._check(resp, f"finish upload {digest}", ok=(201, 204))


def _read_range(path: str, offset: int, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + urlencode({"digest": digest})


def _next_link(header: str) -> str:
    """`</v2/_catalog?last=x&n=100>; rel="next"` -> the path, or ""."""
    if 'rel="next"' not in header:
        return ""
    start, end = header.find("<"), header.find(">")
    return header[start + 1:end] if 0 <= start < end else ""


async def _call(progress: Progress, value: int) -> None:
    result = progress(value)
    if asyncio.iscoroutine(result):
        await result


async def read_file_chunks(path: str, chunk: int = 1 << 20) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while True:
            data = await asyncio.to_thread(f.read, chunk)
            if not data:
                return
            yield data


def file_size(path: str) -> int:
    return os.stat(path).st_size
