"""
The sandboxed half of the attachment cleaner: runs as its own short-lived process
(`python -I intake/attachments/child.py LIMITS...`), reads one upload on stdin,
writes clean images on stdout, and exits.

It imports nothing of the project (no Django, no settings, no keys) and is
started with an empty environment, so a decoder bug exploited by a hostile file
finds nothing worth stealing. Before reading a byte it limits itself: CPU time,
address space, no core files, no files written (RLIMIT_FSIZE 0: the upload and
its pixels can never reach the disk from here). Its output is checked by the
parent, which never unpickles or evaluates anything from it.

Protocol. In: argv = max_pixels max_pages cpu_seconds memory_bytes; stdin = the
kind ("jpeg", "png", "webp", "heic", "pdf"), a newline, then the file's bytes.
Out: b"OK" + 4-byte big-endian header length + JSON header + the page blobs
back to back; or b"NO" + a refusal code. Anything else is a crash.
"""

import contextlib
import io
import json
import math
import os
import resource
import struct
import sys

RENDER_DPI = 150
JPEG_QUALITY = 85
THUMBNAIL_SIDE = 320
# How much lower than the web worker the cleaning child runs (nice(2): 0 to 19).
NICENESS = 10

IMAGE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heic": "HEIF"}


class Refusal(Exception):
    """A file this child will not clean, with the code the parent passes on."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def limit_self(cpu_seconds: int, memory_bytes: int) -> None:
    """Resource limits, set before any untrusted byte is read. The CPU limit's
    hard value is one second above the soft one: SIGXCPU first, SIGKILL after."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, within_hard(resource.RLIMIT_CPU, cpu_seconds, 1))
    resource.setrlimit(resource.RLIMIT_AS, within_hard(resource.RLIMIT_AS, memory_bytes, 0))
    # Cleaning is the one heavy thing a request can ask for: below everything
    # else on the machine, so requests without files are served first while
    # photos are decoded (bench/attachment_upload_bench.py measures it).
    with contextlib.suppress(OSError):  # a service manager that forbids it: limits still hold
        os.nice(NICENESS)


def within_hard(which: int, soft: int, slack: int) -> tuple[int, int]:
    """(soft, soft + slack), lowered to a hard limit the service already has
    (which a process can never raise)."""
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, max(hard - slack, 0))
        return soft, min(soft + slack, hard)
    return soft, soft + slack


def preload() -> None:
    """Import every decoder up front: a spare child waits already loaded, so
    an upload pays only for its own decoding (see clean.py)."""
    import PIL.Image
    import PIL.ImageOps
    import pillow_heif
    import pypdfium2  # noqa: F401

    pillow_heif.register_heif_opener()
    PIL.Image.preinit()


def fresh_copy(image):
    """The pixels alone, in a new image: nothing of the source's `info` (EXIF,
    ICC, XMP, text chunks, comments) or its other frames comes along."""
    from PIL import Image

    if image.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    # A new image with the pixels pasted in, not image.copy(): a copy keeps
    # `info`, and Pillow saves a JPEG's comment and a PNG's ICC profile from it.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def flattened(image):
    """RGB for JPEG: transparent parts become white, as on paper."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def encode(image, as_png: bool) -> tuple[bytes, str]:
    """The clean file: saved with no metadata arguments at all (Pillow writes
    EXIF, ICC, XMP or text only when asked to)."""
    out = io.BytesIO()
    if as_png:
        image.save(out, format="PNG")
        return out.getvalue(), "image/png"
    flattened(image).save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue(), "image/jpeg"


def thumbnail(image) -> bytes:
    """A JPEG whose longest side is at most THUMBNAIL_SIDE (resized from a
    reduced image, as Image.thumbnail does, but without copying the original)."""
    from PIL import Image

    scale = min(1.0, THUMBNAIL_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = flattened(image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()


def page(image, as_png: bool) -> dict:
    data, media_type = encode(image, as_png)
    return {
        "media_type": media_type,
        "width": image.width,
        "height": image.height,
        "data": data,
        "thumbnail": thumbnail(image),
    }


def clean_image(data: bytes, kind: str, max_pixels: int) -> list[dict]:
    from PIL import Image, ImageOps

    # Pillow's own guard, for decoders that grow the image past its header;
    # ours below refuses from the header before anything is decoded.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        image = Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[kind]])
        if image.width * image.height > max_pixels:
            raise Refusal("too_many_pixels")
        image.seek(0)  # an animation: its first frame only
        image.load()
    except Image.DecompressionBombError:
        raise Refusal("too_many_pixels") from None
    upright = ImageOps.exif_transpose(image)  # lenient: damaged EXIF is ignored
    clean = fresh_copy(upright)
    # A PNG stays lossless (screenshots of documents stay sharp); photos are JPEG.
    return [page(clean, as_png=kind == "png")]


def render_scale(width_points: float, height_points: float, max_pixels: int) -> float:
    """RENDER_DPI, or less where a page that large would pass the pixel limit."""
    scale = RENDER_DPI / 72
    area = max(width_points * height_points, 1.0)
    if area * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / area) * 0.999
    return scale


def clean_pdf(data: bytes, max_pixels: int, max_pages: int) -> list[dict]:
    import pypdfium2

    # No init_forms(): without a form environment PDFium runs no JavaScript,
    # draws no form fields, and follows no actions.
    # A PDF PDFium cannot open (damaged, encrypted) raises, and so is "broken";
    # one with no pages gives an empty answer, which the parent refuses.
    document = pypdfium2.PdfDocument(data)
    count = len(document)
    if count > max_pages:
        raise Refusal("too_many_pages")
    pages = []
    for index in range(count):
        pdf_page = document[index]
        scale = render_scale(*pdf_page.get_size(), max_pixels)
        bitmap = pdf_page.render(scale=scale, may_draw_forms=False)
        pages.append(page(fresh_copy(bitmap.to_pil()), as_png=False))
        bitmap.close()
        pdf_page.close()
    document.close()
    return pages


def answer(pages: list[dict]) -> bytes:
    blobs, header = [], []
    for item in pages:
        header.append(
            {
                "media_type": item["media_type"],
                "width": item["width"],
                "height": item["height"],
                "data": len(item["data"]),
                "thumbnail": len(item["thumbnail"]),
            }
        )
        blobs += [item["data"], item["thumbnail"]]
    head = json.dumps(header).encode()
    return b"OK" + struct.pack(">I", len(head)) + head + b"".join(blobs)


def main(argv: list[str]) -> int:
    max_pixels, max_pages, cpu_seconds, memory_bytes = (int(value) for value in argv)
    limit_self(cpu_seconds, memory_bytes)
    preload()
    kind = sys.stdin.buffer.readline().strip().decode("ascii")
    data = sys.stdin.buffer.read()
    try:
        if kind == "pdf":
            pages = clean_pdf(data, max_pixels, max_pages)
        elif kind in IMAGE_FORMATS:
            pages = clean_image(data, kind, max_pixels)
        else:
            raise Refusal("kind")
        out = answer(pages)
    except Refusal as refusal:
        out = b"NO" + refusal.code.encode("ascii")
    except Exception:
        out = b"NObroken"
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    # No interpreter shutdown: nothing is left to tidy, and the parent waits.
    os._exit(main(sys.argv[1:]))
