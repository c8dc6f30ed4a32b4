"""Opening inputs: plain files, .gz, .zip members, UTF-16 text; refusing .etl.

Each opened input is a `Source`: a display name and a binary stream of
UTF-8 (or unknown 8-bit) lines.  Content problems are not raised here; only
what makes an input unreadable as a whole (missing, a directory, a binary ETW
trace, an archive with no readable directory) is an `InputError`.

Damage loses only the damaged part: a compressed stream that breaks off
(truncated or corrupt .gz, a zip member with a bad CRC) ends where the damage
is, and the `Source` says where (``damage``); a zip member that cannot be
read at all (encrypted, an unsupported method such as Deflate64, an .etl
inside, empty) is a `Source` with a ``problem`` and no bytes, so the other
members are still read.  The reader turns both into counted records.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from . import framing
from .detect import is_capture
from ..model.errors import InputError

ETL_HINT = ("Format it to text first: OCSLogger or the CLS Logger's \"Analyze log files\", "
            "or Snooper, then run siptrace on the .txt/.log it writes")


@dataclass
class Source:
    """One readable input: what to call it in evidence, and its bytes."""

    name: str
    stream: BinaryIO
    size: int | None = None
    file: str | None = None       # the path, when the stream is the file's bytes as they are on disk
    problem: str | None = None    # why this input has no bytes to read (a bad archive member)
    damage: list[str] = field(default_factory=list)   # where and why reading broke off
    problem_is_error: bool = True                     # False: nothing is wrong, there is just nothing (empty)

    def head(self, n: int = 65536) -> bytes:
        """The first bytes, without consuming them."""
        peek = getattr(self.stream, "peek", None)
        return peek(n)[:n] if peek else b""

    def close(self) -> None:
        self.stream.close()


class LongLine(bytes):
    """Stands for a line longer than `framing.MAX_LINE` bytes, which is never held: empty, with its length."""

    size: int

    def __new__(cls, size: int) -> LongLine:
        line = super().__new__(cls, b"")
        line.size = size
        return line


def counted_lines(stream: BinaryIO | Iterable[bytes], stats) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """The stream's lines, adding each to ``stats.bytes`` / ``stats.lines`` as it is read.

    A line longer than `framing.MAX_LINE` bytes comes as a `LongLine`, read past in blocks.
    Lines already in memory (text found inside another input) are taken as they are.
    """
    if not hasattr(stream, "readline"):
        for raw in stream:
            stats.bytes += len(raw)
            stats.lines += 1
            yield raw
        return
    limit = framing.MAX_LINE
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            size = len(raw)
            while True:
                more = stream.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            stats.bytes += size
            stats.lines += 1
            yield LongLine(size)
            continue
        stats.bytes += len(raw)
        stats.lines += 1
        yield raw


def _looks_like_etl(head: bytes) -> bool:
    # An ETW .etl file is a binary buffer stream: many NUL bytes and none of
    # a text trace's markers in its first kilobytes.
    if not head:
        return False
    text_markers = (b"TL_", b"$$begin_record", b"SIP/2.0")
    if any(m in head for m in text_markers):
        return False
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return False
    return head.count(b"\x00") > len(head) // 4


def utf16_without_bom(head: bytes) -> str | None:
    """``"utf-16-le"`` / ``"utf-16-be"`` for UTF-16 text that lost its byte-order mark.

    Text that is mostly ASCII has a NUL in every second byte, and in no other:
    the side of the NULs gives the byte order.  Binary data (an .etl, a
    capture) has NULs on both sides.
    """
    sample = head[:4096]
    if len(sample) < 32:
        return None
    sample = sample[:len(sample) // 2 * 2]
    even, odd = sample[0::2], sample[1::2]
    half = len(even)
    for zeros, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= half * 0.9 and other.count(0) == 0 and (b"\n" in other or b"\r" in other):
            return codec
    return None


# A CR not followed by LF: a line end in old Mac text, or in files whose parts
# were written with different line ends.
_LONE_CR = re.compile(rb"\r(?!\n)")


def has_lone_cr(head: bytes) -> bool:
    # a CR at the very end of the head may be the first half of a CRLF (endpos would hide
    # the LF after any CR from the lookahead, so the whole head is searched)
    found = _LONE_CR.search(head)
    return found is not None and found.start() < len(head) - 1


class _Utf16Lines(io.RawIOBase):
    """Re-encodes a UTF-16 text stream (PowerShell's Out-File default) to UTF-8 lines.

    Byte-order marks inside the text (two files joined end to end) are dropped.
    """

    def __init__(self, raw: BinaryIO, encoding: str = "utf-16") -> None:
        self._text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        while len(self._buf) < len(b):
            chunk = self._text.read(65536)
            if not chunk:
                break
            self._buf += chunk.replace("\ufeff", "").encode("utf-8")
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._text.close()
        super().close()


class _LineEnds(io.RawIOBase):
    """Turns every lone CR into LF (one byte for one, so offsets stay true)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._out = b""           # translated bytes not yet handed out

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if not self._out:
            chunk = self._raw.read(max(len(b), 1))
            if chunk.endswith(b"\r"):
                chunk += self._raw.read(1)      # is it a CRLF cut in two?
            self._out = _LONE_CR.sub(b"\n", chunk)
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


# What a damaged compressed stream raises while it is read.
_DAMAGE = (EOFError, OSError, zlib.error, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError)
_CHUNK = 1 << 16
_OUT = 1 << 20        # most bytes decoded in one step


class _Guarded(io.RawIOBase):
    """Ends the stream where the bytes beneath it are damaged, and says where in ``damage``.

    Reads in small steps, so a decoder that fails loses at most one step.
    """

    def __init__(self, raw: BinaryIO, what: str, damage: list[str]) -> None:
        self._raw = raw
        self._what = what
        self._damage = damage
        self._read = 0
        self._broken = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self._broken:
            return 0
        try:
            data = self._raw.read(min(len(b), _CHUNK))
        except _DAMAGE as err:
            self._broken = True
            self._damage.append(f"{self._what} damaged: reading stopped after {self._read:,} bytes "
                                f"({type(err).__name__}: {err}); what came before is kept")
            return 0
        n = len(data)
        b[:n] = data
        self._read += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        except _DAMAGE:
            pass
        super().close()


def _gzip_header_length(buf: bytes) -> int | None:
    """Length of the gzip member header at the start of ``buf`` (RFC 1952), None if it needs more
    bytes, -1 if ``buf`` does not start a gzip member."""
    if len(buf) < 10:
        return None if b"\x1f\x8b\x08".startswith(buf[:3]) else -1
    if buf[:3] != b"\x1f\x8b\x08":
        return -1
    flags, at = buf[3], 10
    if flags & 4:                                   # FEXTRA
        if len(buf) < at + 2:
            return None
        at += 2 + int.from_bytes(buf[at:at + 2], "little")
    for flag in (8, 16):                            # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            end = buf.find(b"\x00", at)
            if end == -1:
                return None
            at = end + 1
    if flags & 2:                                   # FHCRC
        at += 2
    return at if len(buf) >= at else None


def _salvage(inflate, data: bytes, step: int = 256) -> bytes:  # type: ignore[no-untyped-def]
    """The text that ``data`` decodes to before the point where it is damaged."""
    out = []
    for at in range(0, len(data), step):
        try:
            out.append(inflate.decompress(data[at:at + step]))
        except zlib.error:
            break
    return b"".join(out)


class _Inflating(io.RawIOBase):
    """Decompresses deflate data step by step, keeping every byte decoded before any damage.

    Python's own gzip and zip readers drop what they decoded in a read that
    fails (a bad CRC at the end loses the last read whole); this one hands out
    every decoded byte, checks the CRC itself, and on damage ends the stream
    and says where (``damage``).  ``gzip=True`` reads RFC 1952 members one
    after another; otherwise a zip member's raw deflate data, ``limit``
    bytes of it, checked against ``crc``.
    """

    def __init__(self, raw: BinaryIO, what: str, damage: list[str], *, gzip: bool,
                 limit: int | None = None, crc: int | None = None) -> None:
        self._raw = raw
        self._what = what
        self._damage = damage
        self._gzip = gzip
        self._left = limit
        self._crc_expected = crc
        self._state = "header" if gzip else "body"
        self._inflate = zlib.decompressobj(-15)
        self._crc = 0
        self._size = 0            # bytes of this member
        self._buf = b""           # compressed bytes not yet used
        self._in = 0              # compressed bytes taken
        self._out = 0             # bytes decoded
        self._pending = b""
        self._given = 0           # bytes of _pending handed out
        self._full = False        # the last decompress stopped at its output limit
        self._done = False

    def readable(self) -> bool:
        return True

    def _stop(self, why: str) -> None:
        self._done = True
        self._damage.append(f"{self._what} damaged: {why}; reading stopped after {self._out:,} bytes "
                            f"of text (byte {self._in:,} of the compressed data); what came before is kept")

    def _check(self, crc: int | None, size: int | None = None) -> None:
        if crc is not None and crc != self._crc:
            self._damage.append(f"{self._what} damaged: bad CRC-32 (some of the text read may be corrupt); "
                                f"all {self._out:,} bytes decoded were kept")
        elif size is not None and size != self._size & 0xFFFFFFFF:
            self._damage.append(f"{self._what} damaged: its length does not match its trailer; "
                                f"all {self._out:,} bytes decoded were kept")

    def _step(self) -> bytes:
        """Decode what the buffer allows, at most about `_OUT` bytes (a small file may
        inflate to gigabytes); b"" when it needs more input."""
        out = b""
        while (self._buf or self._full) and not self._done and len(out) < _OUT:
            if self._state == "header":
                n = _gzip_header_length(self._buf)
                if n is None:
                    break
                if n < 0:
                    if self._in - len(self._buf) == 0:
                        self._stop("this is not gzip data")
                    else:
                        self._stop(f"{len(self._buf):,}+ bytes after the end of the gzip data are not gzip")
                    break
                self._buf = self._buf[n:]
                self._inflate, self._crc, self._size, self._state = zlib.decompressobj(-15), 0, 0, "body"
            elif self._state == "body":
                before = self._inflate.copy()
                try:
                    piece = self._inflate.decompress(self._buf, _OUT)
                except zlib.error as err:
                    piece = _salvage(before, self._buf)      # what decodes before the bad spot
                    self._out += len(piece)
                    self._stop(f"bad compressed data ({err})")
                    return out + piece
                eof = self._inflate.eof
                self._buf = self._inflate.unused_data if eof else self._inflate.unconsumed_tail
                self._full = not eof and len(piece) == _OUT     # zlib may hold more output
                self._crc = zlib.crc32(piece, self._crc)
                self._size += len(piece)
                out += piece
                self._out += len(piece)
                if self._inflate.eof:
                    if not self._gzip:
                        self._check(self._crc_expected)
                        self._done = True
                    else:
                        self._state = "trailer"
            else:                                   # the gzip trailer: CRC-32 and length
                if len(self._buf) < 8:
                    break
                self._check(int.from_bytes(self._buf[:4], "little"), int.from_bytes(self._buf[4:8], "little"))
                self._buf, self._state = self._buf[8:], "header"
        return out

    def _more(self) -> bytes:
        while not self._done:
            out = self._step()
            if out or self._done:
                return out
            want = _CHUNK if self._left is None else min(_CHUNK, self._left)
            data = self._raw.read(want) if want else b""
            if not data:
                if self._state == "body" or self._buf:
                    self._stop("the compressed data ends early (a truncated file?)")
                elif self._state == "trailer":
                    self._stop("the gzip trailer is missing (a truncated file?)")
                self._done = True
                return b""
            if self._left is not None:
                self._left -= len(data)
            self._in += len(data)
            self._buf += data
        return b""

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self._given >= len(self._pending):
            self._pending, self._given = self._more(), 0
        at = self._given
        n = min(len(b), len(self._pending) - at)
        b[:n] = self._pending[at:at + n]
        self._given += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _text_stream(raw: BinaryIO, name: str) -> tuple[BinaryIO, bool]:
    """The stream as UTF-8 lines, and whether its bytes are the input's own (not re-encoded)."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, 1 << 20)  # type: ignore[arg-type]
    head = buffered.peek(4096)[:4096]
    if is_capture(head):
        return buffered, True  # binary by nature: the capture reader takes it as it is
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return io.BufferedReader(_Utf16Lines(buffered), 1 << 20), False  # type: ignore[return-value]
    bomless = utf16_without_bom(head)
    if bomless:
        return io.BufferedReader(_Utf16Lines(buffered, bomless), 1 << 20), False  # type: ignore[return-value]
    if _looks_like_etl(head):
        raw.close()
        raise InputError("is a binary trace (.etl), not text", path=name, hint=ETL_HINT)
    if has_lone_cr(buffered.peek(1 << 20)):
        return io.BufferedReader(_LineEnds(buffered), 1 << 20), False  # type: ignore[return-value]
    return buffered, True


_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_ZIP_HINT = "extract it with 7-Zip or Windows Explorer, then run siptrace on the extracted file"


def _member_problem(member: zipfile.ZipInfo) -> tuple[str, bool] | None:
    """Why a zip member cannot be read at all (and whether that is an error), or None."""
    if member.flag_bits & 0x1:
        return f"is encrypted (a password-protected zip member): {_ZIP_HINT}", True
    if member.compress_type not in _ZIP_METHODS:
        method = "Deflate64" if member.compress_type == 9 else f"method {member.compress_type}"
        return f"is compressed with {method}, which siptrace cannot decompress: {_ZIP_HINT}", True
    if member.filename.lower().endswith(".etl"):
        return f"is a binary trace (.etl), not text: {ETL_HINT}", True
    if member.file_size == 0:
        return "is empty", False
    return None


def _member_bytes(path: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo,
                  damage: list[str]) -> BinaryIO:
    """A member's bytes: deflate and stored data decoded here, so damage loses only its own part."""
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _Guarded(archive.open(member), "zip member", damage)  # type: ignore[arg-type,return-value]
    raw = open(path, "rb")
    raw.seek(member.header_offset)
    local = raw.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raw.close()
        raise zipfile.BadZipFile("its local header is missing")
    name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
    raw.seek(member.header_offset + 30 + name_len + extra_len)
    if member.compress_type == zipfile.ZIP_STORED:
        return _Stored(raw, member.compress_size, member.CRC, damage)  # type: ignore[return-value]
    return _Inflating(raw, "zip member", damage, gzip=False,  # type: ignore[return-value]
                      limit=member.compress_size, crc=member.CRC)


class _Stored(io.RawIOBase):
    """A stored (uncompressed) zip member, checked against its CRC at the end."""

    def __init__(self, raw: BinaryIO, size: int, crc: int, damage: list[str]) -> None:
        self._raw, self._left, self._crc_expected, self._damage = raw, size, crc, damage
        self._crc = 0
        self._size = size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self._left <= 0:
            return 0
        data = self._raw.read(min(len(b), self._left))
        self._left -= len(data)
        self._crc = zlib.crc32(data, self._crc)
        if not data:
            self._damage.append(f"zip member damaged: the archive ends {self._left:,} bytes early; "
                                "what came before is kept")
            self._left = 0
        elif self._left == 0 and self._crc != self._crc_expected:
            self._damage.append(f"zip member damaged: bad CRC-32 (the text read may hold corrupt bytes); "
                                f"all {self._size:,} bytes were kept")
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _zip_sources(path: str, name: str) -> Iterator[Source]:
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(f"cannot read the zip archive ({err})", path=name,
                         hint="Check that the download finished, or unzip it by hand") from err
    if not members:
        raise InputError("is a zip archive with no files in it", path=name,
                         hint="Check that the right archive was sent")
    for member in members:
        part = f"{name}!{display_name(member.filename)}"
        problem = _member_problem(member)
        if problem is None:
            try:
                damage: list[str] = []
                stream, _ = _text_stream(_member_bytes(path, archive, member, damage), part)
                yield Source(part, stream, member.file_size, damage=damage)
                continue
            except InputError as err:
                problem = (f"{err.message}: {err.hint}" if err.hint else err.message, True)
            except _DAMAGE as err:
                problem = (f"cannot be read ({type(err).__name__}: {err})", True)
        reason, is_error = problem
        yield Source(part, io.BytesIO(b""), 0, problem=reason, problem_is_error=is_error)  # type: ignore[arg-type]


def _gzip_source(path: str, name: str) -> Source:
    damage: list[str] = []
    inflating = _Inflating(open(path, "rb"), "gzip data", damage, gzip=True)  # type: ignore[arg-type]
    text, _ = _text_stream(inflating, name)  # type: ignore[arg-type]
    if damage and not text.peek(1):
        text.close()
        raise InputError(f"cannot read the gzip file ({damage[0]})", path=name,
                         hint="Check that the download finished, or gunzip it by hand")
    return Source(name, text, None, damage=damage)


def read_once(path: str) -> bool:
    """Whether ``path`` can be read only once (standard input, a FIFO, ``<(zcat ...)``)."""
    if path == "-":
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode) and not stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def display_name(path: str) -> str:
    """``path`` as it can be printed: bytes of a file name that are not UTF-8 shown as ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _pipe_source(path: str, name: str) -> Source:
    """An input that can be read only once, front to back (no size, no seeking)."""
    stream = open(path, "rb", buffering=1 << 20)
    magic = stream.peek(4)[:4]
    if magic[:2] == b"\x1f\x8b":
        damage: list[str] = []
        text, _ = _text_stream(_Inflating(stream, "gzip data", damage, gzip=True), name)  # type: ignore[arg-type]
        return Source(name, text, None, damage=damage)
    if magic == b"PK\x03\x04":
        stream.close()
        raise InputError("is a zip archive arriving through a pipe, which cannot be read without seeking",
                         path=name, hint="Save it to a file first, or pass the .zip itself")
    if not magic:
        stream.close()
        raise InputError("gave no data (an empty pipe)", path=name,
                         hint="Check the command that feeds it")
    text, _ = _text_stream(stream, name)  # type: ignore[arg-type]
    return Source(name, text, None)


def open_sources(path: str) -> Iterator[Source]:
    """Yield the readable inputs found at ``path`` (one, or each member of a .zip)."""
    if path == "-":
        import sys

        stream, _ = _text_stream(sys.stdin.buffer, "<stdin>")  # type: ignore[arg-type]
        yield Source("<stdin>", stream)
        return
    name = display_name(path)           # what evidence and messages call it
    if not os.path.exists(path):
        raise InputError("no such file", path=name, hint="Check the path and the file name")
    if os.path.isdir(path):
        raise InputError("is a directory", path=name, hint="Name the trace files inside it (e.g. dir/*.log)")
    if not os.access(path, os.R_OK):
        raise InputError("permission denied", path=name, hint="Make the file readable, or copy it somewhere you can read")
    lower = path.lower()
    if lower.endswith(".etl"):
        raise InputError("is a binary trace (.etl), not text", path=name, hint=ETL_HINT)
    if not stat.S_ISREG(os.stat(path).st_mode):
        yield _pipe_source(path, name)   # a FIFO, <(zcat ...), a device: read once, as it comes
        return
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("is empty", path=name, hint="Collect the trace again, or check that logging was running")
    if zipfile.is_zipfile(path):
        yield from _zip_sources(path, name)
        return
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        yield _gzip_source(path, name)
        return
    stream, as_is = _text_stream(open(path, "rb", buffering=1 << 20), name)  # type: ignore[arg-type]
    yield Source(name, stream, size, file=path if as_is else None)
