"""One GET over a unix socket with nothing but _socket and the C JSON scanner: what
`pyctr version` asks, without the ~60 ms of http.client, ssl and the wire model that
Client loads (issue 24's start-up budget).
Anything it does not expect (not a unix socket, no answer, a status other than 200, a
body it cannot read) returns None, and the caller asks again through Client, which
gives the user its full error handling."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def get_json(host_url: str, path: str, timeout: float = 30.0) -> Any | None:
    if not host_url.startswith("unix://"):
        return None
    import _socket  # socket.py's wrappers (and its enum) are not needed for one request

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(host_url[len("unix://"):])
        # HTTP/1.0: the daemon answers with a plain body and closes, no chunking to undo
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: pyctr\r\n\r\n".encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        sock.close()
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not sep or len(lines[0].split()) < 2 or lines[0].split()[1] != b"200":
        return None
    headers = dict(line.decode("latin-1").lower().split(":", 1) for line in lines[1:] if b":" in line)
    if "chunked" in headers.get("transfer-encoding", ""):
        return None
    length = headers.get("content-length", "").strip()
    if length.isdigit() and int(length) != len(body):
        return None
    try:
        return _decode(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


class _Rules:
    """What json.JSONDecoder hands the C scanner: the stdlib's defaults."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(float)  # NaN, Infinity, -Infinity
    memo: dict = {}


def _decode(text: str):
    """json.loads through the stdlib's C scanner (_json) directly: `import json` loads re,
    enum and functools for its pure-Python fallback, a third of `pyctr version`'s time.
    Where the C scanner is missing, json.loads."""
    try:
        import _json

        scan = _json.make_scanner(_Rules())
    except (ImportError, AttributeError, TypeError):
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(" \t\r\n"))
    try:
        value, end = scan(text, start)
    except StopIteration:
        raise ValueError("not JSON") from None
    if text[end:].strip(" \t\r\n"):
        raise ValueError("extra data after the JSON value")
    return value
