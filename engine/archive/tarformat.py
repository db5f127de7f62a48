"""The tar format on streams: a strict reader and a header writer (ustar + pax + GNU long names).

Why not `tarfile`: in stream mode it takes a corrupt or truncated header after the first
member for a clean end of archive, so a download cut short would unpack "successfully";
and its per-member work (TarInfo objects, uname lookups, 10 KiB reads) is more than layers
need. This reader yields plain records and leaves file data on the stream for the caller.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator
from urllib.parse import quote, unquote

from .errors import ArchiveError

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)

# Entry types as this module reports them (tar typeflags, normalised).
REG, LINK, SYMLINK, CHR, BLK, DIR, FIFO = b"0", b"1", b"2", b"3", b"4", b"5", b"6"
_KNOWN = {REG, LINK, SYMLINK, CHR, BLK, DIR, FIFO}


@dataclass(slots=True)
class TarEntry:
    name: str  # as stored, e.g. "etc/passwd", "./usr/", decoded utf-8 with surrogateescape
    type: bytes  # one of REG, LINK, SYMLINK, CHR, BLK, DIR, FIFO
    mode: int = 0o644  # permission bits only (07777)
    uid: int = 0
    gid: int = 0
    size: int = 0  # data bytes that follow (REG only; 0 for the others)
    mtime_ns: int = 0
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _cstr(field_: bytes) -> bytes:
    end = field_.find(0)
    return field_ if end < 0 else field_[:end]


def _num(field_: bytes, what: str) -> int:
    if field_ and field_[0] & 0x80:
        # GNU base-256: big-endian two's complement over the whole field, top bit as flag.
        value = int.from_bytes(field_, "big")
        if field_[0] == 0xFF:
            return value - (1 << (8 * len(field_)))
        return value & ((1 << (8 * len(field_) - 1)) - 1)
    text = field_.partition(b"\0")[0]
    try:
        return int(text, 8)  # int() itself skips the spaces writers pad with
    except ValueError:
        if not text.strip(b" "):
            return 0
        raise ArchiveError(f"invalid tar header: bad number in {what} field {field_!r}") from None


def _checksum_ok(block: bytes) -> bool:
    stored = _num(block[148:156], "checksum")
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32
    if stored == unsigned:
        return True
    # Some old writers summed signed chars.
    signed = unsigned - 256 * sum(1 for b in block if b > 127) + 256 * sum(1 for b in block[148:156] if b > 127)
    return stored == signed


def _pax_time_ns(text: str) -> int:
    sec, _, frac = text.partition(".")
    ns = int(sec) * 1_000_000_000
    if frac:
        digits = int((frac + "000000000")[:9])
        ns += -digits if text.startswith("-") else digits
    return ns


def _parse_pax(data: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # some writers pad with NULs
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ArchiveError("invalid pax header: bad record length") from None
        record = data[space + 1 : pos + length]
        if length <= 0 or space < 0 or not record.endswith(b"\n") or b"=" not in record:
            raise ArchiveError("invalid pax header record")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos += length
    return records


class TarReader:
    """Iterate the entries of an uncompressed tar stream; read each REG entry's data before
    advancing (or leave it: the reader skips what was not read)."""

    def __init__(self, stream: BinaryIO, unterminated_ok: bool = False) -> None:
        self._f = stream
        # The docker CLI's `build -f -` context ends after the last file's data, with neither
        # its padding nor the end-of-archive marker (dockerd reads it): accepted on request.
        self._unterminated_ok = unterminated_ok
        self._left = 0  # data bytes of the current entry not yet read
        self._pad = 0  # padding after them
        self._globals: dict[str, bytes] = {}
        self.entry_name = ""  # the entry being read, for error messages

    # -- raw reading ---------------------------------------------------------------------

    def _read(self, n: int) -> bytes:
        try:
            data = self._f.read(n)
            while len(data) < n:
                more = self._f.read(n - len(data))
                if not more:
                    break
                data += more
        except ArchiveError:
            raise
        except Exception as e:  # decompressors raise zlib.error, EOFError, OSError, LZMAError
            raise ArchiveError(f"corrupt archive data near {self.entry_name or 'start'!r}: {e}") from e
        return data

    def _read_exact(self, n: int, what: str) -> bytes:
        data = self._read(n)
        if len(data) != n:
            raise ArchiveError(f"unexpected end of archive in {what} (truncated?)")
        return data

    def _skip(self, n: int) -> None:
        while n > 0:
            chunk = self._read_exact(min(n, 1 << 20), f"data of {self.entry_name!r}")
            n -= len(chunk)

    # -- data of the current entry --------------------------------------------------------

    def read_data(self, limit: int = 1 << 20) -> bytes:
        """Up to `limit` bytes of the current entry's data (b"" when done)."""
        n = min(limit, self._left)
        if n == 0:
            return b""
        data = self._read_exact(n, f"data of {self.entry_name!r}")
        self._left -= n
        return data

    def copy_data_to_fd(self, fd: int) -> None:
        while self._left:
            data = self.read_data(1 << 20)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]

    def _finish_entry(self) -> None:
        if self._left:
            self._skip(self._left)
        if self._pad:
            if self._unterminated_ok:
                self._read(self._pad)   # padding, or the end of the stream
            else:
                self._skip(self._pad)
        self._left = self._pad = 0

    def drain(self) -> None:
        """Read the stream to its end (padding after the trailer; verifies gzip's CRC)."""
        while self._read(1 << 20):
            pass

    # -- entries ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[TarEntry]:
        while True:
            self._finish_entry()
            entry = self._next()
            if entry is None:
                return
            self.entry_name = entry.name
            yield entry

    def _data_block(self, size: int, what: str) -> bytes:
        data = self._read_exact(size + -size % BLOCK, what)
        return data[:size]

    def _next(self) -> TarEntry | None:
        long_name: bytes | None = None
        long_link: bytes | None = None
        pax: dict[str, bytes] = {}
        first = True
        while True:
            block = self._read(BLOCK)
            if not block and first and self.entry_name == "" and not pax:
                raise ArchiveError("empty archive (no tar data)")
            if not block and first and self._unterminated_ok and self.entry_name:
                return None   # no end-of-archive marker after a complete entry
            if len(block) != BLOCK:
                raise ArchiveError(
                    f"unexpected end of archive after {self.entry_name!r} (truncated? no end-of-archive marker)"
                    if self.entry_name else "unexpected end of archive: not a tar stream or truncated")
            if block == ZERO_BLOCK:
                if not first:
                    raise ArchiveError(f"end-of-archive marker inside an extended header after {self.entry_name!r}")
                return None  # end of archive (the second zero block, if any, is left to drain)
            first = False
            if not _checksum_ok(block):
                where = f"after {self.entry_name!r}" if self.entry_name else "at start"
                raise ArchiveError(f"invalid tar header {where}: checksum mismatch (corrupt or not a tar)")
            typeflag = block[156:157]
            size = _num(block[124:136], "size")
            if size < 0:
                raise ArchiveError("invalid tar header: negative size")
            if typeflag == b"L":
                long_name = _cstr(self._data_block(size, "GNU long name"))
                continue
            if typeflag == b"K":
                long_link = _cstr(self._data_block(size, "GNU long link name"))
                continue
            if typeflag == b"x":
                pax.update(_parse_pax(self._data_block(size, "pax header")))
                continue
            if typeflag == b"g":
                for k, v in _parse_pax(self._data_block(size, "pax global header")).items():
                    if v:
                        self._globals[k] = v
                    else:
                        self._globals.pop(k, None)
                continue
            return self._entry(block, typeflag, size, long_name, long_link, {**self._globals, **pax})

    def _entry(self, block: bytes, typeflag: bytes, size: int, long_name: bytes | None,
               long_link: bytes | None, pax: dict[str, bytes]) -> TarEntry:
        name_b = _cstr(block[0:100])
        if block[257:263] == b"ustar\0":  # POSIX: a prefix field (GNU puts times there)
            prefix = _cstr(block[345:500])
            if prefix:
                name_b = prefix + b"/" + name_b
        name = _str(long_name if long_name is not None else name_b)
        linkname = _str(long_link if long_link is not None else _cstr(block[157:257]))
        entry = TarEntry(
            name=name, type=typeflag,
            mode=_num(block[100:108], "mode") & 0o7777,
            uid=_num(block[108:116], "uid"), gid=_num(block[116:124], "gid"),
            size=size, mtime_ns=_num(block[136:148], "mtime") * 1_000_000_000,
            linkname=linkname,
        )
        for key, value in pax.items():
            self._apply_pax(entry, key, value)
        self.entry_name = entry.name
        t = entry.type
        if t in (b"\0", b"7"):  # old-style regular, contiguous file
            t = REG
        if t == REG and entry.name.endswith("/"):  # pre-POSIX directory
            t = DIR
        if t == b"D":  # GNU dumpdir: a directory with a listing we do not need
            t = DIR
        if t in (CHR, BLK):
            entry.devmajor = _num(block[329:337], "devmajor")
            entry.devminor = _num(block[337:345], "devminor")
        if t == b"S" or "GNU.sparse.major" in pax or "GNU.sparse.size" in pax:
            raise ArchiveError(f"{entry.name!r}: sparse files are not supported")
        if t == b"V":  # volume label: no file
            self._left, self._pad = entry.size, -entry.size % BLOCK
            self._finish_entry()
            nxt = self._next()
            if nxt is None:
                raise ArchiveError("archive holds only a volume label")
            return nxt
        if t not in _KNOWN:
            raise ArchiveError(f"{entry.name!r}: unsupported tar entry type {t!r}")
        entry.type = t
        # Only regular files carry data; a size on anything else is skipped, never extracted.
        self._left, self._pad = entry.size, -entry.size % BLOCK
        if t != REG:
            entry.size = 0
        return entry

    @staticmethod
    def _apply_pax(entry: TarEntry, key: str, value: bytes) -> None:
        try:
            if key == "path":
                entry.name = _str(value)
            elif key == "linkpath":
                entry.linkname = _str(value)
            elif key == "size":
                entry.size = int(value)
            elif key == "uid":
                entry.uid = int(value)
            elif key == "gid":
                entry.gid = int(value)
            elif key == "mtime":
                entry.mtime_ns = _pax_time_ns(value.decode())
            elif key.startswith("SCHILY.xattr."):
                entry.xattrs[key[len("SCHILY.xattr."):]] = value
            elif key.startswith("LIBARCHIVE.xattr."):
                name = unquote(key[len("LIBARCHIVE.xattr."):], errors="surrogateescape")
                entry.xattrs[name] = base64.b64decode(value + b"=" * (-len(value) % 4))
        except ValueError:
            raise ArchiveError(f"{entry.name!r}: invalid pax value for {key}") from None


# -- writing ---------------------------------------------------------------------------------


def _pax_record(key: str, value: bytes) -> bytes:
    body = b" " + key.encode("utf-8", "surrogateescape") + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _block(name: bytes, prefix: bytes, typeflag: bytes, mode: int, uid: int, gid: int, size: int,
           mtime: int, linkname: bytes, devmajor: int, devminor: int) -> bytes:
    b = bytearray(BLOCK)
    b[0:len(name)] = name
    b[100:108] = _octal(mode, 8)
    b[108:116] = _octal(uid, 8)
    b[116:124] = _octal(gid, 8)
    b[124:136] = _octal(size, 12)
    b[136:148] = _octal(mtime, 12)
    b[148:156] = b"        "
    b[156:157] = typeflag
    b[157:157 + len(linkname)] = linkname
    b[257:265] = b"ustar\x0000"
    b[329:337] = _octal(devmajor, 8)
    b[337:345] = _octal(devminor, 8)
    b[345:345 + len(prefix)] = prefix
    b[148:156] = b"%06o\0 " % sum(b)
    return bytes(b)


def _split_name(name: bytes) -> tuple[bytes, bytes] | None:
    """Fit a name into ustar's name (100) + prefix (155) fields, or None."""
    if len(name) <= 100:
        return name, b""
    if len(name) > 256:
        return None
    cut = name.rfind(b"/", 0, 156)
    while cut > 0:
        if len(name) - cut - 1 <= 100:
            return name[cut + 1:], name[:cut]
        cut = name.rfind(b"/", 0, cut)
    return None


def encode_header(e: TarEntry) -> bytes:
    """The header block(s) for `e`, with a pax header first when a field does not fit."""
    pax: list[bytes] = []
    name = e.name.encode("utf-8", "surrogateescape")
    split = _split_name(name)
    if split is None:
        pax.append(_pax_record("path", name))
        split = (name[:100], b"")
    link = e.linkname.encode("utf-8", "surrogateescape")
    if len(link) > 100:
        pax.append(_pax_record("linkpath", link))
        link = link[:100]
    nums = {}
    for key, value, width in (("uid", e.uid, 8), ("gid", e.gid, 8), ("size", e.size, 12)):
        if value >= 8 ** (width - 1):
            pax.append(_pax_record(key, str(value).encode()))
            value = 0
        nums[key] = value
    mtime = e.mtime_ns // 1_000_000_000
    if not 0 <= mtime < 8 ** 11:
        pax.append(_pax_record("mtime", str(mtime).encode()))
        mtime = 0
    for xname, xvalue in sorted(e.xattrs.items()):
        pax.append(_pax_record("SCHILY.xattr." + xname, xvalue))
    header = _block(split[0], split[1], e.type, e.mode & 0o7777, nums["uid"], nums["gid"], nums["size"],
                    mtime, link, e.devmajor, e.devminor)
    if not pax:
        return header
    data = b"".join(pax)
    pax_name = b"PaxHeaders/" + quote(os.path.basename(name.rstrip(b"/")) or b"x").encode()[:80]
    pax_header = _block(pax_name, b"", b"x", 0o644, 0, 0, len(data), mtime, b"", 0, 0)
    return pax_header + data + bytes(-len(data) % BLOCK) + header


END_OF_ARCHIVE = ZERO_BLOCK * 2
