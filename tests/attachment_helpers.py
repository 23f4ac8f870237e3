"""Files for attachment tests, made with Pillow in the test: photos with metadata to
be removed, and ready-made clean copies for tests about storing and serving."""

import io

from PIL import Image, PngImagePlugin

from intake.attachments.clean import Cleaned, CleanPage

GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def picture(width: int = 96, height: int = 64) -> Image.Image:
    """Smooth colours (re-encoding changes them only a little), different everywhere."""
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 255 // width, y * 255 // height, (x + y) * 127 // (width + height))
         for y in range(height) for x in range(width)]
    )  # fmt: skip
    return image


def jpeg_with_metadata(marker: str = "MARKER", image: Image.Image | None = None) -> bytes:
    """A phone-like JPEG: GPS position, camera serial, date, maker note, user comment."""
    exif = Image.Exif()
    exif[0x010F] = f"Maker {marker}"  # Make
    exif[0x0110] = f"Model {marker}"  # Model
    exif[0x0132] = "2026:03:04 05:06:07"  # DateTime
    inner = exif.get_ifd(EXIF_IFD)
    inner[0x9003] = "2026:03:04 05:06:07"  # DateTimeOriginal
    inner[0xA431] = f"SERIAL-{marker}"  # BodySerialNumber
    inner[0x927C] = f"makernote-{marker}".encode()  # MakerNote
    inner[0x9286] = b"ASCII\0\0\0" + f"comment-{marker}".encode()  # UserComment
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (55.0, 45.0, 21.0)
    gps[3], gps[4] = "E", (37.0, 37.0, 2.0)
    buffer = io.BytesIO()
    (image or picture()).save(
        buffer, "JPEG", exif=exif.tobytes(), quality=95, comment=f"jpeg-comment-{marker}"
    )
    return buffer.getvalue()


def png_with_text(marker: str = "MARKER") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"text-{marker}")
    info.add_itxt("Author", f"itxt-{marker}")
    info.add_text("Location", f"ztxt-{marker}", zip=True)
    buffer = io.BytesIO()
    picture().save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def plain_jpeg(width: int = 48, height: int = 32, colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def ready_cleaned(colour=(200, 30, 30)) -> Cleaned:
    """A clean copy as the cleaner gives it back (for tests of storing and serving
    that need not pay for a child process)."""
    data = plain_jpeg(colour=colour)
    return Cleaned(kind="jpeg", pages=(CleanPage(data, "image/jpeg", 48, 32, plain_jpeg(16, 11)),))


def difference(one: Image.Image, other: Image.Image) -> float:
    """Mean absolute difference per channel (0..255)."""
    a, b = one.convert("RGB"), other.convert("RGB")
    assert a.size == b.size
    pairs = zip(a.tobytes(), b.tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pairs) / (a.size[0] * a.size[1] * 3)
