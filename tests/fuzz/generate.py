"""Fuzz cases generated from the route table, reproducibly from one seed.

Every (method, path) in ROUTES is fuzzed; its path parameters are filled with an
existing name (the fuzz container or image), a missing one, or a hostile one; its
query parameters are the names its handler reads (found in the handler's source,
so new routes and options are fuzzed without touching this file) plus a common
pool; JSON bodies are built from the wire model's dataclasses with right and
wrong types, or are malformed, deep, huge or hold NULs; bodies go with a length,
chunked, or cut short. Raw cases are barely HTTP. No generated value names a host
other than 127.0.0.1 where the daemon would resolve or reach it (pulls, pushes,
logins, searches, imports from URLs, remote builds).
"""

from __future__ import annotations

import base64
import dataclasses
import inspect
import io
import json
import random
import re
import tarfile
import typing
from dataclasses import dataclass, field
from urllib.parse import quote

from pyctr.engine.api.config import ContainerConfig, HostConfig
from pyctr.engine.server.exec import ExecConfigBody, ExecStartBody
from pyctr.engine.server.router import Route

from .client import request_bytes

PLACEHOLDER = re.compile(r"\{([a-z]+)(?::((?:[^{}]|\{[^{}]*\})*))?\}")
QUERY_NAME = re.compile(r"""(?:query\.get(?:all)?\(\s*|query\[\s*|(?:flag|integer)\(request,\s*)["'](\w+)["']""")
COMMON_QUERY = ["filters", "all", "t", "name", "signal", "force", "v", "tail", "follow", "stdout",
                "stderr", "since", "until", "ps_args", "path", "fromImage", "fromSrc", "repo", "tag",
                "term", "container", "changes", "remote", "dockerfile", "q", "nocache", "rm", "forcerm",
                "h", "w", "stream", "logs", "stdin", "noprune", "link", "size", "limit", "before",
                "pause", "comment", "author", "names", "timestamps", "m", "detach", "detachKeys"]
# Values the daemon may resolve or connect to (pulls, pushes, logins, searches, imports from
# URLs, remote builds) name no host but 127.0.0.1 (port 1: closed), or none at all (the test
# daemon's --default-registry none refuses those at once).
REFERENCES = ["busybox", "nosuchimage", "library/nosuch", "127.0.0.1:1/nosuch", "127.0.0.1:1/nosuch:v1",
              "", "UPPER/Case", "a b", "x\x00y", "@@", "-", "nosuch@sha256:" + "0" * 64,
              "busybox:" + "t" * 200, "127.0.0.1:1/" + "a" * 300, "a" * 300]
TAGS = ["latest", "", "v1", "t" * 200, "a\x00", "UPPER", "@@", "a b", "-1"]
SEARCH_TERMS = ["busybox", "nosuch", "UPPER", "a b", "x\x00y", "@@", "", "127.0.0.1:1/nosuch", "a" * 300]
SERVER_ADDRESSES = ["", "127.0.0.1:1", "http://127.0.0.1:1", "https://127.0.0.1:1/v1/", "127.0.0.1:1/x\x00"]
IMPORT_SOURCES = ["-", "http://127.0.0.1:1/x.tar", "", "file:///etc/passwd", "x\x00"]
REMOTES = ["http://127.0.0.1:1/ctx.tar", "git://127.0.0.1:1/x.git", "", "https://127.0.0.1:1/x", "x\x00"]
NETWORK_PARAMS = {"fromImage": REFERENCES, "repo": REFERENCES, "tag": TAGS, "term": SEARCH_TERMS,
                  "fromSrc": IMPORT_SOURCES, "remote": REMOTES}

HOSTILE_NAMES = ["..", "../../../../etc/passwd", "a" * 300, "x\x00y", "\x00", "名前", "$(reboot)",
                 "; rm -rf /", "-f", " ", "\\", "*", "?", "#", "%", "%2e%2e", ".", "0" * 64,
                 "sha256:" + "f" * 64, "a:b:c", "@sha256:xyz", "UPPER", "\u202e", "\U0001f600",
                 "\x7f", "\r\nX-Injected: 1", "{}", "[]", "null", "-1", "9" * 40]
HOSTILE_VALUES = ["", "1", "0", "true", "false", "yes", "-1", "99999999999999999999", "1e309", "NaN",
                  "abc", "\x00", "a\x00b", "a" * 5000, "名前", "../../etc", "%", "+", "all", "-",
                  "{}", "[]", "null", '{"exited":[null]}', '{"exited":["x"]}', '{"status":[1]}',
                  '{"status":{"exited":true}}', '{"label":[[]]}', '{"dangling":[{}]}',
                  '{"container":[[1]]}', '{"event":{"a":[1]}}', "[" * 5000 + "]" * 5000,
                  '{"a":' * 150 + "1" + "}" * 150, "\ud800", "1.5", " 7 ", "0x10", "SIGKILL", "9",
                  "SIGNOPE", "99", "-rf", "1500000000.123456789", "1500000000.x"]


KEEP_LABEL = "pyctr.fuzz.keep"   # on the fuzz targets: prunes the fuzzer sends without filters spare them


@dataclass(frozen=True)
class Targets:
    """What exists on the daemon before the run (and must still exist after it)."""
    container: str                     # created, not running
    running: str = ""                  # running (sleep): for the routes that read or exec in one
    image: str = "busybox"


# Routes a running container may get: none that stops it, waits for it, or would block as
# the client asked (stop ?t=huge), so the fuzzer keeps it running and never waits on it.
RUNNING_ROUTES = ("/json", "/top", "/logs", "/stats", "/changes", "/export", "/attach", "/copy",
                  "/archive", "/exec", "/resize", "/pause", "/unpause", "/start")


@dataclass
class Case:
    kind: str
    label: str                         # the route's pattern, or the raw case's name
    data: bytes = b""
    pieces: list[tuple[bytes, float]] | None = None
    half_close: bool = False
    may_close: bool = False            # the server may close without an answer (a cut-short request)
    must_be_4xx: bool = False          # malformed on purpose: only a 4xx is right
    network_route: bool = False        # a registry route: a 5xx is right when the registry is unreachable
    answer_timeout: float = 20.0


def query_names(route: Route) -> list[str]:
    """The query parameters the route's handler reads, from its source."""
    try:
        source = inspect.getsource(route.handler)
    except (OSError, TypeError):
        return []
    return sorted(set(QUERY_NAME.findall(source)))


def destructive(route: Route) -> bool:
    """Routes that must not get the existing names: they would remove or rename them."""
    return route.method == "DELETE" or route.path.endswith("/rename")


def network(route: Route) -> bool:
    return any(part in route.path for part in ("/push", "/auth", "/images/search", "/images/create",
                                               "/build"))


class Generator:
    def __init__(self, seed: int, routes: list[Route], targets: Targets) -> None:
        self.seed = seed
        self.routes = routes
        self.targets = targets

    # --- values ----------------------------------------------------------------------
    def _string(self, rng: random.Random) -> str:
        return rng.choice(HOSTILE_VALUES + HOSTILE_NAMES)

    def _path_value(self, rng: random.Random, route: Route, param: str, pattern: str | None) -> str:
        if param == "version":
            return rng.choice(["1.14", "1.24", "1.99", "0.1", "1.0", "01.024", "9" * 30 + ".1"])
        if param == "rest":
            return "/".join(rng.choice(HOSTILE_NAMES + ["x", "json", ""]) for _ in range(rng.randint(0, 3)))
        if network(route) and param == "name":
            return rng.choice(REFERENCES)
        choice = rng.random()
        if choice < 0.4 and not destructive(route):
            if route.path.startswith("/images"):
                return rng.choice([self.targets.image, self.targets.image + ":latest"])
            if route.path.startswith("/containers"):
                if self.targets.running and route.path.endswith(RUNNING_ROUTES) and rng.random() < 0.5:
                    return self.targets.running
                return self.targets.container
        if choice < 0.7:
            return rng.choice(["nosuch", "nosuch-" + str(rng.randint(0, 10 ** 6)), "deadbeef" * 8])
        return rng.choice(HOSTILE_NAMES)

    def target(self, rng: random.Random, route: Route, prefix_version: bool = True) -> str:
        def fill(match: re.Match) -> str:
            param, pattern = match.group(1), match.group(2)
            value = self._path_value(rng, route, param, pattern)
            safe = "/:@" if pattern and ("." in pattern or "/" in pattern) else ":@"
            return quote(value, safe=safe, errors="surrogatepass")
        path = PLACEHOLDER.sub(fill, route.path)
        if prefix_version:
            path = rng.choice(["", "/v1.14", "/v1.24", "/v1.24", "/v1.99", "/v0.9"]) + path
        names = query_names(route)
        picked = [rng.choice(names) if names and rng.random() < 0.75 else rng.choice(COMMON_QUERY)
                  for _ in range(rng.randint(0, 4))]
        pairs = []
        for name in picked:
            if name in NETWORK_PARAMS:
                value = rng.choice(NETWORK_PARAMS[name])
            else:
                value = self._string(rng)
            pairs.append(f"{quote(name)}={quote(value, safe='', errors='surrogatepass')}")
        if route.path == "/containers/prune" and "filters" not in picked:
            # the fuzz targets carry KEEP_LABEL: a prune without filters spares them (one with
            # filters may not, and the test counts what those removed)
            pairs.append("filters=" + quote(json.dumps({"label!": [KEEP_LABEL]})))
        return path + ("?" + "&".join(pairs) if pairs else "")

    # --- bodies ----------------------------------------------------------------------
    def _typed(self, rng: random.Random, hint, depth: int = 0, strict: bool = False):
        """A value of type `hint`, often the right type, sometimes not (never, when `strict`)."""
        if not strict and rng.random() < 0.15:
            return rng.choice([None, 1, -1, 2 ** 70, 1e308, True, "x", "\x00", [], {}, [None], {"": None},
                               "a" * 100_000, [1] * 1000])
        origin = typing.get_origin(hint)
        if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            return self._typed(rng, options[0], depth, strict)
        if dataclasses.is_dataclass(hint):
            return self.object_for(rng, hint, depth + 1, strict)
        if origin is list:
            (item,) = typing.get_args(hint) or (typing.Any,)
            return [self._typed(rng, item, depth + 1, strict) for _ in range(rng.randint(0, 3))]
        if origin is dict:
            _, item = typing.get_args(hint) or (typing.Any, typing.Any)
            return {rng.choice(["a", "80/tcp", "", "x\x00", "名"]): self._typed(rng, item, depth + 1, strict)
                    for _ in range(rng.randint(0, 2))}
        if hint is bool:
            return rng.choice([True, False])
        if hint is int:
            return rng.choice([0, 1, -1, 4 * 1024 * 1024, 2 ** 63 - 1, 2 ** 63, -(2 ** 63), 2 ** 64, 1023])
        if hint is float:
            return rng.choice([0.0, 1.5, -1e308])
        if hint is str:
            return rng.choice(["", "busybox", "true", "/", "/tmp", "root", "x" * 64] + HOSTILE_NAMES)
        return rng.choice([None, "x", 1, {}])

    def object_for(self, rng: random.Random, cls: type, depth: int = 0, strict: bool = False) -> dict:
        hints = typing.get_type_hints(cls)
        out = {}
        for f in dataclasses.fields(cls):
            if rng.random() < (0.15 if strict else 0.35):
                key = f.metadata.get("api") or "".join(p[:1].upper() + p[1:] for p in f.name.split("_"))
                out[key] = self._typed(rng, hints[f.name], depth, strict)
        return out

    def json_body(self, rng: random.Random, route: Route) -> tuple[bytes, bool]:
        """(body, whether it is malformed on purpose)."""
        roll = rng.random()
        if roll < 0.45:
            if route.path == "/containers/create" and rng.random() < 0.4:
                # well typed, so that many get created: what the daemon accepts is fuzzed too
                body = {**self.object_for(rng, ContainerConfig, strict=True), "Image": self.targets.image,
                        "HostConfig": self.object_for(rng, HostConfig, strict=True)}
            elif route.path == "/containers/create":
                body = self.object_for(rng, ContainerConfig)
                if rng.random() < 0.6:
                    body["Image"] = rng.choice([self.targets.image, "nosuchimage", ""])
                if rng.random() < 0.5:
                    body["HostConfig"] = self.object_for(rng, HostConfig)
            elif route.path.endswith("/start"):
                body = self.object_for(rng, HostConfig)
            elif route.path.endswith("/exec"):
                body = self.object_for(rng, ExecConfigBody)
            elif "/exec/" in route.path:
                body = self.object_for(rng, ExecStartBody)
            elif route.path == "/auth":
                body = {k: rng.choice(HOSTILE_VALUES + [1, None, [], {}, True])
                        for k in ("username", "password", "email", "auth") if rng.random() < 0.6}
                if rng.random() < 0.7:
                    body["serveraddress"] = rng.choice(SERVER_ADDRESSES + [1, None, [], {}, True])
            else:
                body = self.object_for(rng, ContainerConfig)
            try:
                return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass"), False
            except (ValueError, TypeError):
                return b"{}", False
        malformed = [
            b"{", b"}", b"{\"Image\": ", b"[" * 100_000, b"{\"a\":" * 50_000, b"\xff\xfe\x00", b"\x00",
            b"null", b"[]", b"1", b"\"x\"", b"{\"Image\": 1}", b"{\"Cmd\": {}}", b"{\"HostConfig\": []}",
            b"{\"Image\": \"busybox\", \"Cmd\": [\"a\\u0000b\"]}", b"{\"Image\": \"a\\u0000\"}",
            b"{\"Memory\": 1e999}", b"{\"Memory\": -1e999}", b"{\"Memory\": NaN}", b"{\"Memory\": Infinity}",
            b"{\"Memory\": " + b"9" * 5000 + b"}", b"{\"Env\": [" + b"\"A=1\"," * 20000 + b"\"B=2\"]}",
            b"{\"Labels\": {\"\\u0000\": \"x\"}}", b"{\"Image\": \"" + b"a" * 1_000_000 + b"\"}",
            b"\xef\xbb\xbf{}", b"{\"Image\": \"\\ud800\"}", b"{'Image': 'busybox'}",
            b"{\"HostConfig\": {\"PortBindings\": {\"80/tcp\": [{\"HostPort\": 1}]}}}",
            b"{\"HostConfig\": {\"RestartPolicy\": \"always\"}}",
            b"{\"username\": 1, \"serveraddress\": 2}", b"{\"serveraddress\": [\"127.0.0.1:1\"]}",
            b"{\"Detach\": \"yes\"}", b"{\"Cmd\": \"" + b"\\" * 99 + b"\"}",
        ]
        body = rng.choice(malformed)
        plain_ok = body in (b"null", b"[]") and not route.path.endswith(("/create", "/exec", "/auth"))
        return body, not plain_ok and route.path not in ("/commit",) and not route.path.endswith(("/start",))

    def tar_body(self, rng: random.Random) -> bytes:
        roll = rng.random()
        if roll < 0.3:
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000)))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name in rng.sample(["Dockerfile", "a", "../escape", "/abs", "dir/b", "x" * 200], 2):
                data = rng.choice([b"", b"FROM nosuchimage\n", b"hello\n" * 100])
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        raw = buf.getvalue()
        if roll < 0.7:
            return raw[: rng.randint(0, len(raw))]   # cut short
        return raw

    # --- cases -----------------------------------------------------------------------
    def route_case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}/{index}")
        if index < len(self.routes):
            route = self.routes[index]     # every route at least once
        else:   # then the implemented ones 9 times as often as the 501 families (100 routes of
            # them) and swarm's and plugins' fixed answers (50 more)
            unsupported = [r for r in self.routes if "unsupported" in r.handler.__qualname__
                           or r.handler.__module__.endswith(".server.swarm")]
            implemented = [r for r in self.routes if r not in unsupported]
            route = rng.choice(implemented if rng.random() < 0.9 or not unsupported else unsupported)
            if rng.random() < 0.03:
                route = next(r for r in self.routes if r.method == "POST" and r.path == "/containers/create")
        if route.path == "/containers/create" and rng.random() < 0.3:
            return self.plain_create(rng, route)
        try:
            source = inspect.getsource(route.handler)
        except (OSError, TypeError):
            source = ""
        headers: dict[str, str] = {}
        body: bytes | None = None
        malformed = False
        if "json_body(" in source:
            body, malformed = self.json_body(rng, route) if rng.random() < 0.85 else (None, False)
        elif "BodyReader(" in source or "request.content" in source:
            body = self.tar_body(rng) if rng.random() < 0.85 else None
            headers["Content-Type"] = rng.choice(["application/x-tar", "application/json", "text/plain"])
        elif rng.random() < 0.1:
            body = rng.choice([b"junk", b"{}", b"\x00" * 10])
        if rng.random() < 0.15:
            headers["X-Registry-Auth"] = rng.choice([
                "!!!", base64.b64encode(b"[" * 5000).decode(), base64.b64encode(b'{"username": 1}').decode(),
                base64.urlsafe_b64encode(json.dumps({"serveraddress": 5}).encode()).decode(), "e30=", "null"])
        if rng.random() < 0.05:
            headers["X-Registry-Config"] = rng.choice(["!!!", base64.b64encode(b"{}").decode()])
        chunked = body is not None and rng.random() < 0.3
        data = request_bytes(route.method, self.target(rng, route), headers, body, chunked)
        return Case("route" if not malformed else "malformed json", f"{route.method} {route.path}", data,
                    must_be_4xx=malformed, network_route=network(route))

    def plain_create(self, rng: random.Random, route: Route) -> Case:
        """A create the daemon should accept (201), so that the run makes containers and
        the test can check that each is accounted for and removable."""
        body = {"Image": self.targets.image, "Cmd": rng.choice([["true"], ["sleep", "1"], []]),
                "Labels": {"pyctr.fuzz": str(rng.randint(0, 99))},
                "Env": rng.choice([[], ["A=1"], ["A=" + "x" * 5000]]),
                "HostConfig": rng.choice([{}, {"Memory": 0}, {"RestartPolicy": {"Name": "no"}}])}
        path = rng.choice(["", "/v1.24", "/v1.41"]) + route.path
        if rng.random() < 0.5:
            path += f"?name=fuzz-{self.seed}-{rng.randrange(1 << 30)}"
        data = request_bytes(route.method, path, {}, json.dumps(body).encode(), rng.random() < 0.3)
        return Case("plain create", f"{route.method} {route.path}", data)

    def transfer_case(self, index: int) -> Case:
        """A body cut short (the client half-closes), or a bad chunking, on a body route."""
        rng = random.Random(f"{self.seed}/transfer/{index}")
        routes = [r for r in self.routes if r.method in ("POST", "PUT")]
        route = rng.choice(routes)
        target = self.target(rng, route)
        head = (f"{route.method} {target} HTTP/1.1\r\nHost: pyctr\r\nConnection: close\r\n").encode()
        roll = rng.random()
        if roll < 0.4:
            data = head + b"Content-Length: 100000\r\n\r\n{\"Image\": \"busy"
            return Case("cut-short body", f"{route.method} {route.path}", data, half_close=True,
                        may_close=True, network_route=network(route))
        if roll < 0.7:
            data = head + b"Transfer-Encoding: chunked\r\n\r\n" + rng.choice(
                [b"zz\r\n{}\r\n0\r\n\r\n", b"10\r\n{}", b"2\r\n{}\r\n", b"-1\r\n\r\n", b"2\r\n{}XX0\r\n\r\n",
                 b"ffffffffffffffffff\r\n{}\r\n0\r\n\r\n", b"2;ext=\x00\r\n{}\r\n0\r\n\r\n"])
            half_close = rng.random() < 0.5   # a client gone: closing is right; else a 400 or 408
            return Case("bad chunking", f"{route.method} {route.path}", data, half_close=half_close,
                        may_close=half_close, network_route=network(route))
        data = head + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        return Case("chunked body", f"{route.method} {route.path}", data, network_route=network(route))

    def unknown_case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}/unknown/{index}")
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "HEAD"])
        path = "/" + "/".join(quote(rng.choice(HOSTILE_NAMES + ["containers", "images", "json", "v1.24"]),
                                    safe="", errors="surrogatepass") for _ in range(rng.randint(0, 4)))
        return Case("unknown route", "(unknown)", request_bytes(method, path))


def raw_cases(seed: int) -> list[Case]:
    """Barely HTTP, on a fresh connection each: every one gets a 4xx or a close, never silence."""
    rng = random.Random(f"{seed}/raw")
    fixed = {
        "HTTP/0.9": b"GET /_ping\r\n\r\n",
        "HTTP/9.9": b"GET /_ping HTTP/9.9\r\nHost: x\r\n\r\n",
        "no version, no end": b"GET /_ping\r\n",
        "bare LF": b"GET /_ping HTTP/1.1\nHost: x\n\n",
        "bad method": b"G@T /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
        "no host": b"GET /_ping HTTP/1.1\r\n\r\n",
        "long line": b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "header flood": b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(5000)) + b"\r\n",
        "huge header": b"GET /_ping HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 200_000 + b"\r\n\r\n",
        "bad length": b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "negative length": b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "two lengths": b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "length and chunked": b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "NUL in path": b"GET /_p\x00ing HTTP/1.1\r\nHost: x\r\n\r\n",
        "NUL in header": b"GET /_ping HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        "invalid UTF-8 path": b"GET /containers/\xff\xfe/json HTTP/1.1\r\nHost: x\r\n\r\n",
        "folded header": b"GET /_ping HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
        "no colon": b"GET /_ping HTTP/1.1\r\nHost: x\r\nXfoo\r\n\r\n",
        "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "TLS hello": bytes.fromhex("16030100a5010000a10303") + bytes(32),
        "only CRLF": b"\r\n\r\n",
        "CONNECT": b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "absolute form": b"GET http://127.0.0.1:1/_ping HTTP/1.1\r\nHost: x\r\n\r\n",
        "asterisk": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "websocket upgrade": b"GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "unknown expect": b"POST /auth HTTP/1.1\r\nHost: x\r\nExpect: nope\r\nContent-Length: 2\r\n\r\n{}",
        "gzip body": b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
        "pipelined with junk": b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nJUNK\r\n\r\n",
    }
    cases = [Case("raw", name, data, may_close=True, answer_timeout=15) for name, data in fixed.items()]
    valid = request_bytes("POST", "/containers/create", {}, b'{"Image": "nosuchimage"}')
    for i in range(120):
        roll = rng.random()
        if roll < 0.35:
            data = valid[: rng.randint(0, len(valid) - 1)]              # a request cut anywhere
            name = "truncated"
        elif roll < 0.7:
            data = bytearray(valid)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)   # flipped bytes
            data, name = bytes(data), "corrupted"
        else:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 400)))
            name = "random bytes"
        cases.append(Case("raw", name, data, may_close=True, half_close=rng.random() < 0.3,
                          answer_timeout=15))
    return cases
