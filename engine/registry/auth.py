"""Registry credentials and the two ways a v2 registry asks for them.

A 401 answer carries `WWW-Authenticate`: `Basic realm=...` (htpasswd) means the
credentials go with every request; `Bearer realm=...,service=...,scope=...` means
a token is fetched from the realm (with the credentials as Basic auth, or
anonymously) for that scope and sent as `Authorization: Bearer <token>`.
Credentials reach the daemon base64url-encoded JSON in X-Registry-Auth, as the
Docker API sends them."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from ..errors import BadRequest


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""   # an OAuth refresh token (Docker's IdentityToken)
    registry_token: str = ""   # a bearer token to use as is
    server_address: str = ""
    email: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.identity_token or self.registry_token)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _b64decode(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return base64.b64decode(padded)


def credentials_from_json(data: object) -> Credentials:
    """An AuthConfig object as the API carries it (`POST /auth` body, X-Registry-Auth)."""
    if not isinstance(data, dict):
        raise BadRequest("invalid registry auth: expected a JSON object")
    username, password = _text(data, "username"), _text(data, "password")
    if not username and data.get("auth"):  # the config file's base64("user:pass")
        try:
            username, _, password = base64.b64decode(_text(data, "auth")).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise BadRequest("invalid registry auth: bad base64 in 'auth'") from None
    return Credentials(username, password, _text(data, "identitytoken"), _text(data, "registrytoken"),
                       _text(data, "serveraddress"), _text(data, "email"))


def _text(data: dict, key: str) -> str:
    """A string field of an AuthConfig: absent or null is "", anything but a string a 400."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"invalid registry auth: {key} must be a string, not {type(value).__name__}")
    if "\0" in value:
        raise BadRequest(f"invalid registry auth: a NUL byte in {key}")
    return value


def decode_header(value: str | None) -> Credentials:
    """X-Registry-Auth: empty or "{}" is anonymous; anything else must decode."""
    if not value or not value.strip():
        return Credentials()
    try:
        data = json.loads(_b64decode(value))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("invalid X-Registry-Auth header: not base64-encoded JSON") from None
    if data is None:
        return Credentials()
    return credentials_from_json(data)


@dataclass(frozen=True)
class Challenge:
    scheme: str                          # "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def parse_challenges(header: str) -> list[Challenge]:
    """`Bearer realm="https://a/token",service="reg",scope="repository:x:pull"` and the like.
    Several challenges may share one header; each begins with a bare scheme word."""
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        m = re.compile(r"\s*,?\s*([A-Za-z][\w-]*)(?=\s|$)").match(header, pos)
        if not m:
            break
        scheme = m.group(1).lower()
        pos = m.end()
        params: dict[str, str] = {}
        while True:
            p = re.compile(r"\s*,?\s*").match(header, pos)
            start = p.end() if p else pos
            pm = _PARAM.match(header, start)
            if not pm:
                break
            value = pm.group(2) if pm.group(2) is not None else pm.group(3)
            params[pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            pos = pm.end()
        out.append(Challenge(scheme, params))
    return out
