"""Opening inputs: plain files, .gz, .zip members, UTF-16 text; refusing .etl.

Each opened input is a `Source`: a display name and a binary stream of
UTF-8 (or unknown 8-bit) lines.  Content problems are not raised here; only
what makes an input unreadable (missing, a directory, a binary ETW trace, an
unreadable archive) is an `InputError`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .detect import is_capture
from .errors import InputError

ETL_HINT = ("Format it to text first: OCSLogger or the CLS Logger's \"Analyze log files\", "
            "or Snooper, then run siptrace on the .txt/.log it writes")


@dataclass
class Source:
    """One readable input: what to call it in evidence, and its bytes."""

    name: str
    stream: BinaryIO
    size: int | None = None
    file: str | None = None       # the path, when the stream is the file's bytes as they are on disk

    def head(self, n: int = 65536) -> bytes:
        """The first bytes, without consuming them."""
        peek = getattr(self.stream, "peek", None)
        return peek(n)[:n] if peek else b""

    def close(self) -> None:
        self.stream.close()


def counted_lines(stream: BinaryIO, stats) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """The stream's lines, adding each to ``stats.bytes`` / ``stats.lines`` as it is read."""
    for raw in stream:
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


class _Utf16Lines(io.RawIOBase):
    """Re-encodes a UTF-16 text stream (PowerShell's Out-File default) to UTF-8 lines."""

    def __init__(self, raw: BinaryIO) -> None:
        self._text = io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline="")
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        while len(self._buf) < len(b):
            chunk = self._text.read(65536)
            if not chunk:
                break
            self._buf += chunk.encode("utf-8")
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._text.close()
        super().close()


def _text_stream(raw: BinaryIO, name: str) -> BinaryIO:
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, 1 << 20)  # type: ignore[arg-type]
    head = buffered.peek(4096)[:4096]
    if is_capture(head):
        return buffered  # binary by nature: the capture reader takes it as it is
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return io.BufferedReader(_Utf16Lines(buffered), 1 << 20)  # type: ignore[return-value]
    if _looks_like_etl(head):
        raw.close()
        raise InputError("is a binary trace (.etl), not text", path=name, hint=ETL_HINT)
    return buffered


def open_sources(path: str) -> Iterator[Source]:
    """Yield the readable inputs found at ``path`` (one, or each member of a .zip)."""
    if path == "-":
        import sys

        yield Source("<stdin>", _text_stream(sys.stdin.buffer, "<stdin>"))  # type: ignore[arg-type]
        return
    if not os.path.exists(path):
        raise InputError("no such file", path=path, hint="Check the path and the file name")
    if os.path.isdir(path):
        raise InputError("is a directory", path=path, hint="Name the trace files inside it (e.g. dir/*.log)")
    if not os.access(path, os.R_OK):
        raise InputError("permission denied", path=path, hint="Make the file readable, or copy it somewhere you can read")
    lower = path.lower()
    if lower.endswith(".etl"):
        raise InputError("is a binary trace (.etl), not text", path=path, hint=ETL_HINT)
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("is empty", path=path, hint="Collect the trace again, or check that logging was running")
    if zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
            members = [m for m in archive.infolist() if not m.is_dir()]
        except (zipfile.BadZipFile, OSError) as err:
            raise InputError(f"cannot read the zip archive ({err})", path=path,
                             hint="Check that the download finished, or unzip it by hand") from err
        for member in members:
            name = f"{path}!{member.filename}"
            if member.filename.lower().endswith(".etl"):
                raise InputError("is a binary trace (.etl), not text", path=name, hint=ETL_HINT)
            yield Source(name, _text_stream(archive.open(member), name), member.file_size)  # type: ignore[arg-type]
        return
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        try:
            stream = gzip.open(path, "rb")
            stream.peek(1)  # type: ignore[attr-defined]
        except (OSError, EOFError) as err:
            raise InputError(f"cannot read the gzip file ({err})", path=path,
                             hint="Check that the download finished, or gunzip it by hand") from err
        yield Source(path, _text_stream(stream, path), None)  # type: ignore[arg-type]
        return
    as_is = magic not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)    # else re-encoded as it is read
    yield Source(path, _text_stream(open(path, "rb"), path), size, file=path if as_is else None)
