"""Files a person sends the bot in the tests: small, made here, with markers in them."""

import io
import random

from PIL import Image

# In the files' metadata: none of it may be in a stored clean copy.
CAMERA_SERIAL = "CAMSERIAL-55193"
PHONE_MODEL = "PhoneModel-77X"
PDF_AUTHOR = "Ivan Authorov-Marker"
# The names and types the person's phone gives the files: never kept.
PHOTO_CAPTION = "Повестка, пришла вчера."
PDF_NAME = "povestka_Kuzmin_Ivan_Petrovich.pdf"
HTML_NAME = "scan_of_contract_Kuzmin.jpg"


def gps_jpeg(size=(120, 90), colour=(180, 40, 40)) -> bytes:
    """A phone photo: GPS position, camera serial, model and the time it was taken."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "MarkerPhone"
    exif[0x0110] = PHONE_MODEL
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 30.5), 3: "E", 4: (37.0, 37.0, 12.0)})
    exif.get_ifd(0x8769).update({0xA431: CAMERA_SERIAL, 0x9003: "2026:03:01 04:05:06"})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def noise_jpeg(side: int) -> bytes:
    """A photo that does not compress: about 3 bytes a pixel at this quality."""
    rng = random.Random(side)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def authored_pdf() -> bytes:
    """A one-page PDF with an author, a title and a creator."""
    out = io.BytesIO()
    Image.new("RGB", (100, 140), (10, 90, 200)).save(
        out, "PDF", author=PDF_AUTHOR, title="Повестка", creator="ScannerApp 3.1"
    )
    return out.getvalue()


HTML = b"<!doctype html><html><body><script>alert(1)</script>Contract</body></html>"
