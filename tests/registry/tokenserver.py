"""A small token server for the registry's Bearer flow: the real docker-registry, set up
with `auth: token`, trusts tokens signed by a key of ours (RS256, signed with the
openssl CLI, the key named by its libtrust key id). Users authenticate with Basic auth
on the token endpoint and get every action they ask for; anonymous callers get a
token that grants nothing."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import subprocess
import threading
import time
from urllib.parse import parse_qs, urlparse


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(der_public_key: bytes) -> str:
    digest = hashlib.sha256(der_public_key).digest()[:30]
    text = base64.b32encode(digest).decode().rstrip("=")
    return ":".join(text[i:i + 4] for i in range(0, len(text), 4))


class TokenServer:
    service = "pyctr-test-registry"
    issuer = "pyctr-test-issuer"

    def __init__(self, workdir: str, users: dict[str, str]) -> None:
        os.makedirs(workdir, exist_ok=True)
        self.key = os.path.join(workdir, "token.key")
        self.cert = os.path.join(workdir, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=pyctr-token"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.kid = libtrust_key_id(der)
        self.users = users
        self.issued: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                user = ""
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if server.users.get(name) != password:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    user = name
                scopes = [s for v in query.get("scope", []) for s in v.split(" ") if s]
                token = server.token(user, scopes)
                body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def registry_auth(self) -> dict:
        return {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                "rootcertbundle": self.cert}

    def token(self, user: str, scopes: list[str]) -> str:
        access = []
        if user:
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        self.issued.append(claims)
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                                   input=signing_input.encode(), check=True, capture_output=True).stdout
        return signing_input + "." + _b64url(signature)

    def __enter__(self) -> "TokenServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
