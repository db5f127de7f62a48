"""Detach keys: the key sequence that ends an attached TTY client's session without
stopping the process (attach, `run -it`, exec). Docker's notation: a comma-separated
list of keys, each one character or `ctrl-<c>` (a-z, @, [, \\, ], ^, _)."""

from __future__ import annotations

DEFAULT = "ctrl-p,ctrl-q"

_CTRL_PUNCTUATION = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


class InvalidKeys(ValueError):
    pass


def parse(spec: str) -> bytes:
    """The bytes of `spec` ("" = Docker's default, ctrl-p ctrl-q); InvalidKeys naming
    the key that is not one."""
    codes = bytearray()
    for key in (spec or DEFAULT).split(","):
        key = key.strip()
        if len(key) == 1:
            codes += key.encode()
        elif key.lower().startswith("ctrl-") and len(key) == 6:
            char = key[5].lower()
            if "a" <= char <= "z":
                codes.append(ord(char) - ord("a") + 1)
            elif char in _CTRL_PUNCTUATION:
                codes.append(_CTRL_PUNCTUATION[char])
            else:
                raise InvalidKeys(f"Unknown character: '{key[5]}'")
        else:
            raise InvalidKeys(f"Unknown key: '{key}'")
    if len(codes) > 16 or not codes:
        raise InvalidKeys(f"invalid detach keys {spec!r}")
    return bytes(codes)


class DetachScanner:
    """Watches a client's input for the keys: `feed` returns what to pass on to the
    process and whether the client detached. Bytes that may start the sequence are
    held back until the next input shows whether they do (then they are passed on)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in data:
            candidate = self._held + bytes([byte])
            if self.keys.startswith(candidate):
                if candidate == self.keys:
                    self._held = b""
                    return bytes(out), True
                self._held = candidate
                continue
            # Not the sequence: keep the longest tail that may still start it, pass the rest.
            keep = next(n for n in range(len(candidate) - 1, -1, -1)
                        if self.keys.startswith(candidate[len(candidate) - n:]))
            out += candidate[:len(candidate) - keep]
            self._held = candidate[len(candidate) - keep:]
        return bytes(out), False
