"""
Turning an uploaded file into a clean copy, safely.

`clean(data)` decides the kind from the bytes alone (`sniff`), then hands the
bytes to a child process (child.py) that decodes them and re-encodes the pixels
alone: images come back with no EXIF, GPS, XMP, IPTC, ICC, comments, text chunks,
thumbnails or maker notes, orientation applied; a PDF comes back as one image
per page, so no PDF (script, form, link, font, author) is ever kept. Whatever
was appended to or hidden inside a file (a ZIP or HTML in a JPEG) is not pixels
and does not come back: such a polyglot is accepted and its payload dropped.

The child is a fresh interpreter with an empty environment (no keys, no
settings, none of the parent's memory), CPU-time and address-space limits, no
core files and no file writes; the parent enforces the wall clock and kills it.
The bytes go both ways over pipes, never a temporary file, and the parent
checks what comes back (never unpickling or evaluating it). Start-up cost is
hidden by one spare child per process, started after each clean with the
decoders already imported and waiting on its stdin (`_spare`): a forkserver
would be as fast, but is a fork of a long-lived process that keeps its
environment, and multiprocessing speaks pickle, which a compromised child
could turn against the parent.
"""

import math
import os
import selectors
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

CHILD = Path(__file__).with_name("child.py")
KINDS = ("jpeg", "png", "webp", "heic", "pdf")
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
# What a child may answer: anything else (or a crash) is a broken file.
CHILD_REFUSALS = {"broken", "too_many_pages", "too_many_pixels"}
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
# A child's answer larger than its pixels (4 bytes each, as a worst-case PNG)
# and this much per page is not a clean copy of anything we accept.
OUTPUT_PER_PAGE = 2 * 1024 * 1024


def _too_large_message() -> str:
    return gettext("This file is larger than %(limit)s. Send a smaller photo or fewer pages.") % {
        "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    }


def _too_many_pages_message() -> str:
    return gettext(
        "This PDF has more than %(limit)s pages. Send only the pages that matter, "
        "or photos of them."
    ) % {"limit": settings.ATTACHMENT_MAX_PAGES}


MESSAGES = {
    "empty": gettext_lazy("This file is empty. Please choose it again."),
    "too_large": lazy(_too_large_message, str)(),
    "kind": gettext_lazy(
        "We can take only photos (JPEG, PNG, WebP, HEIC) and PDF files. Please send one of those."
    ),
    "broken": gettext_lazy(
        "This file could not be opened. Send a photo (JPEG, PNG, WebP, HEIC) or a PDF."
    ),
    "too_many_pages": lazy(_too_many_pages_message, str)(),
    "too_many_pixels": gettext_lazy(
        "This image is too large to open. Send a smaller photo or a screenshot of it."
    ),
    "too_slow": gettext_lazy(
        "This file took too long to open. Send a photo of it instead, or a simpler PDF."
    ),
}


class Refused(Exception):
    """A file that is not taken, with a code for the caller and a plain sentence
    for the requester (lazily translated: it is read in their language)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = MESSAGES[code]


@dataclass(frozen=True)
class CleanPage:
    data: bytes
    media_type: str
    width: int
    height: int
    thumbnail: bytes


@dataclass(frozen=True)
class Cleaned:
    kind: str
    pages: tuple[CleanPage, ...]


def sniff(data: bytes) -> str | None:
    """The kind of file from its first bytes alone (never a name or a declared
    type); None for anything not accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(MAGIC["image/png"]):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data[4:8] == b"ftyp" and _heif_brands(data) & HEIF_BRANDS:
        return "heic"
    return None


def _heif_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO media file's `ftyp` box."""
    size = int.from_bytes(data[:4], "big")
    if not 16 <= size <= min(len(data), 4096):
        return set()
    box = data[8:size]
    return {box[:4]} | {box[i : i + 4] for i in range(8, len(box) - 3, 4)}


def clean(data: bytes) -> Cleaned:
    """The clean copy of an uploaded file, or Refused. Never writes to disk."""
    if not data:
        raise Refused("empty")
    if len(data) > settings.ATTACHMENT_MAX_BYTES:
        raise Refused("too_large")
    kind = sniff(data)
    if kind is None:
        raise Refused("kind")
    limits = _limits()
    output = _run_child(limits, kind.encode("ascii") + b"\n" + data)
    return Cleaned(kind=kind, pages=_read_answer(output, limits))


def _limits() -> tuple[int, int, int, int]:
    return (
        settings.ATTACHMENT_MAX_PIXELS,
        settings.ATTACHMENT_MAX_PAGES,
        max(1, math.ceil(settings.ATTACHMENT_CLEAN_SECONDS)),
        settings.ATTACHMENT_CLEAN_MEMORY,
    )


def _command(limits: tuple) -> tuple[str, ...]:
    """How a child is started: the same command, the same child (the spare's key)."""
    return (
        tempfile.gettempdir(),
        sys.executable,
        "-I",
        str(CHILD),
        *(str(value) for value in limits),
    )


def _start_child(command: tuple[str, ...]) -> subprocess.Popen:
    temporary, *arguments = command
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script, no shell
        arguments,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        # Nothing of ours (keys, settings) is passed on: only where temporary
        # files would go, should a library ever try (RLIMIT_FSIZE stops it writing).
        env={"TMPDIR": temporary},
        close_fds=True,
    )


_spare_lock = threading.Lock()
_spare: tuple[int, tuple[str, ...], subprocess.Popen] | None = None


def _take_child(command: tuple[str, ...]) -> subprocess.Popen:
    """The waiting spare if it was started this way in this process (a fork
    of this process, such as a new worker, starts its own), else a new child."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        pid, spare_command, child = spare
        if pid == os.getpid() and spare_command == command and child.poll() is None:
            return child
        if pid == os.getpid():
            _end(child)
    return _start_child(command)


def _leave_spare(command: tuple[str, ...]) -> None:
    global _spare
    with _spare_lock:
        if _spare is None:
            _spare = (os.getpid(), command, _start_child(command))


def _end(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    for stream in (child.stdin, child.stdout):
        if stream and not stream.closed:
            stream.close()


def _run_child(limits: tuple, payload: bytes) -> bytes:
    command = _command(limits)
    child = _take_child(command)
    try:
        output, timed_out = _exchange(child, payload, limits)
    finally:
        _end(child)
        _leave_spare(command)
    if timed_out or child.returncode == -signal.SIGXCPU:
        raise Refused("too_slow")
    if child.returncode != 0 or output is None:
        raise Refused("broken")
    return output


def _exchange(child: subprocess.Popen, payload: bytes, limits: tuple) -> tuple[bytes | None, bool]:
    """Write the payload, read the answer, within the wall clock and a size
    cap. Returns (answer or None if too large, whether time ran out)."""
    deadline = time.monotonic() + settings.ATTACHMENT_CLEAN_SECONDS
    most = 4 * limits[0] + OUTPUT_PER_PAGE * limits[1]
    chunks, received, sent = [], 0, 0
    view = memoryview(payload)
    with selectors.DefaultSelector() as selector:
        os.set_blocking(child.stdin.fileno(), False)
        selector.register(child.stdin, selectors.EVENT_WRITE)
        selector.register(child.stdout, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, True
            for key, _ in selector.select(remaining):
                if key.fileobj is child.stdin:
                    try:
                        sent += os.write(child.stdin.fileno(), view[sent : sent + 65536])
                    except BrokenPipeError:
                        sent = len(payload)
                    if sent >= len(payload):
                        selector.unregister(child.stdin)
                        child.stdin.close()
                    continue
                chunk = os.read(child.stdout.fileno(), 1024 * 1024)
                if not chunk:
                    selector.unregister(child.stdout)
                    continue
                received += len(chunk)
                if received > most:
                    return None, False
                chunks.append(chunk)
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None, True
    return b"".join(chunks), False


def _read_answer(output: bytes, limits: tuple) -> tuple[CleanPage, ...]:
    """The child's answer, checked before anything of it is believed."""
    if output[:2] == b"NO":
        code = output[2:].decode("ascii", "replace")
        raise Refused(code if code in CHILD_REFUSALS else "broken")
    try:
        return _pages(output, limits)
    except (ValueError, TypeError, KeyError, struct.error):
        raise Refused("broken") from None


def _pages(output: bytes, limits: tuple) -> tuple[CleanPage, ...]:
    import json

    max_pixels, max_pages = limits[0], limits[1]
    if output[:2] != b"OK":
        raise ValueError("no answer")
    (length,) = struct.unpack(">I", output[2:6])
    header = json.loads(output[6 : 6 + length])
    if not isinstance(header, list) or not 1 <= len(header) <= max_pages:
        raise ValueError("page count")
    offset, pages = 6 + length, []
    for item in header:
        width, height = int(item["width"]), int(item["height"])
        data_end = offset + int(item["data"])
        thumbnail_end = data_end + int(item["thumbnail"])
        data, thumbnail = output[offset:data_end], output[data_end:thumbnail_end]
        media_type = item["media_type"]
        if media_type not in MAGIC or not data.startswith(MAGIC[media_type]):
            raise ValueError("image kind")
        if not thumbnail.startswith(MAGIC["image/jpeg"]):  # (past the end: see below)
            raise ValueError("thumbnail")
        if not (width > 0 and height > 0 and width * height <= max_pixels):
            raise ValueError("size")
        pages.append(CleanPage(data, media_type, width, height, thumbnail))
        offset = thumbnail_end
    if offset != len(output):
        raise ValueError("trailing bytes")
    return tuple(pages)
