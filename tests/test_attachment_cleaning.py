"""
An uploaded file becomes a clean copy (intake/attachments/clean.py): the pixels
alone, orientation applied, with none of the file's metadata, and PDFs as one
image per page; a file that is not one we take, or that tries to hurt the
server, is refused with a code and a plain sentence, and the next file cleans.
"""

import io
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

import pillow_heif
import pytest
from django.test import override_settings
from django.utils import translation
from PIL import Image, ImageChops, ImageOps, ImageStat
from PIL.PngImagePlugin import PngInfo

from intake.attachments.clean import Refused, clean, sniff

MARKER = "TRACE7F3A"  # placed in every piece of metadata; must not come back
SERIAL = "SN-48151623"
GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def photo(width: int = 320, height: int = 240) -> Image.Image:
    """A picture with structure (so orientation and pixel checks mean something)."""
    gradient = Image.linear_gradient("L").resize((width, height))
    red = Image.new("L", (width, height), 40)
    red.paste(230, (0, 0, width // 3, height // 4))  # a block in the top-left corner
    return Image.merge("RGB", (red, gradient, gradient.transpose(Image.Transpose.ROTATE_180)))


def camera_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = f"Maker {MARKER}"  # Make
    exif[0x0131] = f"Software {MARKER}"
    details = exif.get_ifd(EXIF_IFD)
    details[0xA431] = SERIAL  # BodySerialNumber
    details[0x9003] = "2026:11:05 06:41:13"  # DateTimeOriginal
    details[0x927C] = f"MakerNote {MARKER}".encode()
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (55.0, 45.0, 21.0)
    gps[3], gps[4] = "E", (37.0, 37.0, 4.0)
    return exif


def xmp() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        b'xmp:CreatorTool="' + MARKER.encode() + b'"/></rdf:RDF></x:xmpmeta>'
    )


def phone_jpeg() -> bytes:
    out = io.BytesIO()
    photo().save(
        out, "JPEG", quality=95, exif=camera_exif(), xmp=xmp(), comment=f"comment {MARKER}"
    )
    data = out.getvalue()
    # An IPTC block (APP13, "Photoshop 3.0"), which Pillow cannot write itself.
    by_line = f"by {MARKER}".encode()
    record = b"\x1c\x02\x50" + struct.pack(">H", len(by_line)) + by_line  # IPTC 2:80
    record += b"\0" * (len(record) % 2)
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\0\0" + struct.pack(">I", len(record)) + record
    app13 = b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc
    return data[:2] + app13 + data[2:]


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def mean_difference(one: Image.Image, other: Image.Image) -> float:
    assert one.size == other.size
    return sum(ImageStat.Stat(ImageChops.difference(one, other)).mean) / 3


def jpeg_markers(data: bytes) -> set[int]:
    """The markers of a JPEG's segments before its image data."""
    markers, at = set(), 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        markers.add(marker)
        if marker == 0xDA:  # start of scan: pixels follow
            break
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def every_byte(cleaned) -> bytes:
    return b"".join(page.data + page.thumbnail for page in cleaned.pages)


def assert_traceless(cleaned) -> None:
    everything = every_byte(cleaned)
    for trace in (MARKER, SERIAL, "2026:11:05", "Exif", "http://ns.adobe.com/xap", "Photoshop"):
        assert trace.encode() not in everything, trace
    for page in cleaned.pages:
        for data in (page.data, page.thumbnail):
            image = opened(data)
            assert not image.getexif()
            assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
            if data.startswith(b"\xff\xd8"):
                # Only the image's own segments: no APP1-APP15 (EXIF, XMP, IPTC...), no COM.
                assert jpeg_markers(data) <= {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xDD}


def refused(data: bytes) -> Refused:
    with pytest.raises(Refused) as caught:
        clean(data)
    return caught.value


def assert_still_cleans() -> None:
    """The refusal hurt nothing: the next good file cleans."""
    assert clean(jpeg(photo())).pages[0].width == 320


# Clean copies


def test_a_phone_jpeg_comes_back_upright_with_no_metadata_and_the_same_pixels():
    original = phone_jpeg()

    cleaned = clean(original)

    assert cleaned.kind == "jpeg"
    [page] = cleaned.pages
    assert page.media_type == "image/jpeg"
    assert (page.width, page.height) == (240, 320)  # orientation 6: turned a quarter
    assert_traceless(cleaned)
    upright = ImageOps.exif_transpose(opened(original))
    assert mean_difference(opened(page.data), upright) < 3
    # The corner block is where a person looking at the photo on the phone sees it.
    assert opened(page.data).getpixel((235, 5))[0] > 200
    assert max(opened(page.thumbnail).size) <= 320


def exiftool(data: bytes) -> tuple[set[str], str]:
    """The metadata groups exiftool finds in a file, and all it says."""
    found = subprocess.run(
        ["exiftool", "-a", "-G1", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return {line.split("]")[0].lstrip("[") for line in found.splitlines() if line}, found


def test_a_photo_with_damaged_exif_is_still_cleaned():
    garbage = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x05\0\x01\0\0\0\xff\xff" + MARKER.encode()
    app1 = b"\xff\xe1" + struct.pack(">H", len(garbage) + 2) + garbage
    original = jpeg(photo())

    cleaned = clean(original[:2] + app1 + original[2:])

    assert (cleaned.pages[0].width, cleaned.pages[0].height) == (320, 240)
    assert_traceless(cleaned)


@pytest.mark.skipif(not shutil.which("exiftool"), reason="exiftool is not installed")
def test_exiftool_finds_nothing_but_the_image_in_a_cleaned_photo():
    original = phone_jpeg()
    before, _ = exiftool(original)
    assert {"IFD0", "ExifIFD", "GPS", "XMP-xmp", "IPTC"} <= before

    after, found = exiftool(clean(original).pages[0].data)

    assert after <= {"ExifTool", "System", "File", "JFIF", "Composite"}
    assert "Comment" not in found and "Warning" not in found
    assert MARKER not in found and SERIAL not in found


def test_exiftool_is_there_on_ci():
    if os.environ.get("CI"):
        assert shutil.which("exiftool"), "CI must install exiftool (libimage-exiftool-perl)"


def test_a_png_loses_its_text_chunks_and_stays_lossless():
    info = PngInfo()
    info.add_text("Author", f"tEXt {MARKER}")
    info.add_text("Comment", f"zTXt {MARKER}", zip=True)
    info.add_itxt("Description", f"iTXt {MARKER}", lang="ru")
    out = io.BytesIO()
    photo().save(out, "PNG", pnginfo=info, exif=camera_exif(orientation=1))

    cleaned = clean(out.getvalue())

    [page] = cleaned.pages
    assert (cleaned.kind, page.media_type) == ("png", "image/png")
    assert set(png_chunks(page.data)) == {b"IHDR", b"IDAT", b"IEND"}
    assert_traceless(cleaned)
    assert mean_difference(opened(page.data), photo()) == 0


def test_a_heic_from_a_phone_comes_back_as_a_clean_jpeg():
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    photo().save(out, "HEIF", exif=camera_exif(orientation=1).tobytes(), xmp=xmp(), quality=90)
    assert MARKER.encode() in out.getvalue()

    cleaned = clean(out.getvalue())

    assert cleaned.kind == "heic"
    assert cleaned.pages[0].media_type == "image/jpeg"
    assert_traceless(cleaned)
    assert mean_difference(opened(cleaned.pages[0].data), photo()) < 4


def test_a_webp_loses_its_exif_and_xmp():
    out = io.BytesIO()
    photo().save(out, "WEBP", exif=camera_exif(orientation=1), xmp=xmp(), quality=90)
    assert MARKER.encode() in out.getvalue()

    cleaned = clean(out.getvalue())

    assert cleaned.kind == "webp"
    assert_traceless(cleaned)
    assert mean_difference(opened(cleaned.pages[0].data), photo()) < 4


def test_an_animation_keeps_its_first_frame_only():
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)

    [page] = clean(out.getvalue()).pages

    red, _, blue = opened(page.data).getpixel((32, 32))
    assert red > 200 and blue < 50


def test_transparency_in_a_png_is_kept_and_a_transparent_webp_is_flattened_on_white():
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    as_png, as_webp = io.BytesIO(), io.BytesIO()
    clear.save(as_png, "PNG")
    clear.save(as_webp, "WEBP", lossless=True)

    assert opened(clean(as_png.getvalue()).pages[0].data).getpixel((5, 5)) == (0, 0, 0, 0)
    assert opened(clean(as_webp.getvalue()).pages[0].data).getpixel((5, 5)) >= (250, 250, 250)


def pdf(objects: list[bytes], info: int | None = None) -> bytes:
    """A PDF from numbered objects (1 is the catalog), with its cross-reference table."""
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"/Size %d /Root 1 0 R" % (len(objects) + 1)
    if info:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(content), extra) + content + b"\nendstream"


def risky_pdf() -> bytes:
    """Two pages, with an author and title, XMP, JavaScript run on opening, a
    JavaScript name tree and an embedded file: all of it marked."""
    mark = MARKER.encode()
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents %d 0 R >>"
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Metadata 9 0 R /OpenAction 7 0 R"
            b" /Names << /JavaScript << /Names [(init) 7 0 R] >>"
            b" /EmbeddedFiles << /Names [(secret.txt) 8 0 R] >> >> >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            page % 5,
            page % 6,
            stream(b"0 0 0 rg 20 20 100 60 re f"),  # a black box on page one
            stream(b"1 0 0 rg 150 100 100 60 re f"),  # a red box on page two
            b"<< /S /JavaScript /JS (app.alert\\('" + mark + b"'\\);) >>",
            b"<< /Type /Filespec /F (secret.txt) /EF << /F 10 0 R >> >>",
            stream(xmp(), b"/Type /Metadata /Subtype /XML "),
            stream(b"embedded " + mark, b"/Type /EmbeddedFile "),
            b"<< /Author (Author " + mark + b") /Title (Title " + mark + b")"
            b" /Producer (Producer " + mark + b") >>",
        ],
        info=11,
    )


def test_a_pdf_comes_back_as_one_clean_image_per_page_and_nothing_else():
    original = risky_pdf()
    assert MARKER.encode() in original

    cleaned = clean(original)

    assert cleaned.kind == "pdf"
    assert len(cleaned.pages) == 2
    assert all(page.media_type == "image/jpeg" for page in cleaned.pages)
    assert_traceless(cleaned)
    assert b"%PDF" not in every_byte(cleaned)
    assert b"JavaScript" not in every_byte(cleaned)
    first, second = (opened(page.data) for page in cleaned.pages)
    assert first.size == (625, 417)  # 300 x 200 points at 150 dpi
    # The pages were drawn: PDF y runs up, so the boxes sit low on one, high on the other.
    assert first.getpixel((100, 350)) < (30, 30, 30)
    assert second.getpixel((400, 100))[0] > 200 and second.getpixel((400, 100))[1] < 60


def test_a_huge_pdf_page_is_rendered_within_the_pixel_limit():
    original = pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>",
        ]
    )

    with override_settings(ATTACHMENT_MAX_PIXELS=1_000_000):
        [page] = clean(original).pages

    assert page.width * page.height <= 1_000_000
    assert page.width > 900


# Refusals


def test_the_kind_is_decided_from_the_bytes():
    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    photo(64, 64).save(heic, "HEIF")

    assert sniff(jpeg(photo())) == "jpeg"
    assert sniff(heic.getvalue()) == "heic"
    assert sniff(risky_pdf()) == "pdf"
    assert sniff(b"<!DOCTYPE html><script>alert(1)</script>") is None
    assert sniff(b"GIF89a" + b"\0" * 20) is None
    assert sniff(b"\0\0\0\x18ftypmp42\0\0\0\0isommp42") is None  # a video, not a photo


def test_an_html_file_named_jpg_is_refused_as_the_wrong_kind():
    error = refused(b"<html><body><script>document.cookie</script></body></html>")

    assert error.code == "kind"
    with translation.override("ru"):
        assert "JPEG, PNG, WebP, HEIC" in str(error.message)
    assert_still_cleans()


def test_a_zip_is_refused_and_a_zip_inside_a_jpeg_does_not_survive_cleaning():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.html", f"<script>{MARKER}</script>")
    assert refused(archive.getvalue()).code == "kind"
    # A polyglot: an image to anyone who views it, a ZIP to anyone who unzips it.
    polyglot = jpeg(photo(), comment=f"<html>{MARKER}</html>") + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))

    cleaned = clean(polyglot)

    assert not zipfile.is_zipfile(io.BytesIO(cleaned.pages[0].data))
    assert b"payload.html" not in every_byte(cleaned)
    assert b"<html>" not in every_byte(cleaned)
    assert_traceless(cleaned)


def test_an_empty_file_is_refused():
    assert refused(b"").code == "empty"
    assert_still_cleans()


def test_one_byte_over_the_limit_is_refused_before_decoding():
    original = jpeg(photo())

    with override_settings(ATTACHMENT_MAX_BYTES=len(original)):
        assert clean(original).pages
    with override_settings(ATTACHMENT_MAX_BYTES=len(original) - 1):
        error = refused(original)
        with translation.override("en"):
            assert "larger than" in str(error.message)
    assert error.code == "too_large"
    assert_still_cleans()


def test_a_truncated_jpeg_is_refused_as_broken():
    original = jpeg(photo())

    assert refused(original[: len(original) // 2]).code == "broken"
    assert_still_cleans()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims an image of this size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_from_its_header():
    assert refused(png_claiming(100_000, 100_000)).code == "too_many_pixels"
    assert_still_cleans()


def test_a_small_file_with_too_many_real_pixels_is_refused():
    flat = io.BytesIO()
    Image.new("L", (2000, 1000)).save(flat, "PNG", optimize=True)
    assert len(flat.getvalue()) < 20_000

    with override_settings(ATTACHMENT_MAX_PIXELS=1_999_999):
        assert refused(flat.getvalue()).code == "too_many_pixels"
    assert clean(flat.getvalue()).pages[0].width == 2000


def test_a_pdf_of_fifty_thousand_pages_is_refused_without_rendering_them():
    pages = 50_000
    original = pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b"3 0 R " * pages + b"] /Count %d >>" % pages,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )

    error = refused(original)

    assert error.code == "too_many_pages"
    with translation.override("en"):
        assert "more than 30 pages" in str(error.message)
    assert_still_cleans()


def test_a_broken_pdf_is_refused():
    assert refused(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage").code == "broken"
    assert_still_cleans()


def test_a_pdf_without_pages_is_refused():
    empty = pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])

    assert refused(empty).code == "broken"


def test_a_child_that_runs_out_of_memory_is_refused_and_the_server_goes_on():
    large = jpeg(Image.new("RGB", (3000, 3000), "grey"))  # 27 MB of pixels, 100 KB on disk
    assert len(large) < 200_000

    with override_settings(ATTACHMENT_CLEAN_MEMORY=100 * 1024**2):
        assert refused(large).code == "broken"
    assert clean(large).pages[0].width == 3000
    assert_still_cleans()


def test_a_child_that_takes_too_long_is_killed_and_refused():
    slow = jpeg(photo(3000, 2000), quality=95)

    with override_settings(ATTACHMENT_CLEAN_SECONDS=0.01):
        assert refused(slow).code == "too_slow"
    assert_still_cleans()


def test_refusals_are_plain_sentences_in_russian():
    with translation.override("ru"):
        assert str(refused(b"").message) == "Этот файл пустой. Выберите его ещё раз."
        assert str(refused(b"PK\3\4").message).startswith("Мы принимаем только фото")


def test_a_server_with_lower_hard_limits_still_cleans(tmp_path):
    """A service manager may cap the web worker's address space and CPU time;
    the child cannot raise a hard limit, so it keeps within it."""
    script = (
        "import django, io; django.setup()\n"
        "from PIL import Image\n"
        "from intake.attachments.clean import clean\n"
        "out = io.BytesIO(); Image.new('RGB', (64, 48)).save(out, 'JPEG')\n"
        "print(clean(out.getvalue()).pages[0].width)\n"
    )

    def lower_hard_limits():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
        resource.setrlimit(resource.RLIMIT_CPU, (30, 30))

    environment = {**os.environ, "ATTACHMENT_CLEAN_MEMORY": "8GB", "ATTACHMENT_CLEAN_SECONDS": "60"}
    answer = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        preexec_fn=lower_hard_limits,
        capture_output=True,
        check=True,
    )

    assert answer.stdout.strip() == b"64"


# No disk


def test_nothing_is_written_to_the_temporary_folder(monkeypatch):
    with tempfile.TemporaryDirectory() as folder:
        monkeypatch.setenv("TMPDIR", folder)
        monkeypatch.setattr(tempfile, "tempdir", folder)

        clean(phone_jpeg())
        clean(risky_pdf())
        clean(phone_jpeg())

        assert os.listdir(folder) == []


# A child that misbehaves (as one taken over by a hostile file might)


def forged(
    media_type: str,
    page: bytes,
    thumbnail: bytes = b"\xff\xd8\xff",
    after: bytes = b"",
    size: tuple[int, int] = (10, 10),
    copies: int = 1,
    padding: int = 0,
) -> str:
    """A child that answers with pages of its own making."""
    return f"""
import json, struct, sys
sys.stdin.buffer.read()
page, thumbnail = {page!r} + bytes({padding}), {thumbnail!r}
head = json.dumps([{{"media_type": {media_type!r}, "width": {size[0]}, "height": {size[1]},
                    "data": len(page), "thumbnail": len(thumbnail)}}] * {copies}).encode()
body = (page + thumbnail) * {copies}
sys.stdout.buffer.write(b"OK" + struct.pack(">I", len(head)) + head + body + {after!r})
"""


@pytest.fixture
def planted_child(tmp_path, monkeypatch):
    """Runs this script as the child instead of the real one."""

    def plant(script: str) -> None:
        path = tmp_path / "child.py"
        path.write_text(script)
        monkeypatch.setattr("intake.attachments.clean.CHILD", path)

    yield plant
    monkeypatch.undo()
    assert_still_cleans()


@pytest.mark.parametrize(
    "answer",
    [
        forged("application/pdf", b"%PDF-1.7 not an image"),
        forged("image/jpeg", b"%PDF-1.7 not an image"),
        forged("image/png", b"\xff\xd8\xff a JPEG"),
        forged("image/jpeg", b"\xff\xd8\xff clean", thumbnail=b"<html>"),
        forged("image/jpeg", b"\xff\xd8\xff clean", after=b"PK payload"),
        forged("image/jpeg", b"\xff\xd8\xff clean", size=(0, 10)),
        forged("image/jpeg", b"\xff\xd8\xff clean", size=(10, 0)),
        forged("image/jpeg", b"\xff\xd8\xff clean", size=(-10, -10)),
        forged("image/jpeg", b"\xff\xd8\xff clean", size=(100, 11)),
        forged("image/jpeg", b"\xff\xd8\xff clean", copies=0),
        forged("image/jpeg", b"\xff\xd8\xff clean", copies=4),
    ],
    ids=[
        "not an image kind",
        "not a JPEG",
        "not a PNG",
        "thumbnail not a JPEG",
        "trailing",
        "no width",
        "no height",
        "negative size",
        "over the pixel limit",
        "no pages",
        "over the page limit",
    ],
)
def test_a_forged_answer_from_the_child_is_refused(planted_child, answer):
    planted_child(answer)

    with override_settings(ATTACHMENT_MAX_PIXELS=1000, ATTACHMENT_MAX_PAGES=3):
        assert refused(jpeg(photo())).code == "broken"


def test_the_forged_answer_is_taken_when_well_formed(planted_child):
    """The test above fails for the reason each case names, not for any answer."""
    # Three pages of 1.5 MB: within the cap of 2 MB a page (and 4 bytes a pixel).
    megabytes = 3 * 1024**2 // 2
    planted_child(
        forged("image/jpeg", b"\xff\xd8\xff", size=(100, 10), copies=3, padding=megabytes)
    )

    with override_settings(ATTACHMENT_MAX_PIXELS=1000, ATTACHMENT_MAX_PAGES=3):
        pages = clean(jpeg(photo())).pages
    assert len(pages) == 3
    assert (pages[2].data, pages[2].thumbnail) == (
        b"\xff\xd8\xff" + bytes(megabytes),
        b"\xff\xd8\xff",
    )
    assert (pages[2].width, pages[2].height) == (100, 10)


def test_a_child_that_hangs_is_killed_at_the_wall_clock(planted_child):
    planted_child("import time\ntime.sleep(60)\n")
    started = time.monotonic()

    with override_settings(ATTACHMENT_CLEAN_SECONDS=0.5):
        assert refused(jpeg(photo())).code == "too_slow"
    assert time.monotonic() - started < 1.4


def test_a_child_that_floods_its_answer_is_stopped(planted_child):
    planted_child("import sys\nwhile True: sys.stdout.buffer.write(b'OK' * 65536)\n")

    with override_settings(ATTACHMENT_MAX_PIXELS=1000, ATTACHMENT_MAX_PAGES=1):
        assert refused(jpeg(photo())).code == "broken"


def test_a_child_over_its_cpu_time_is_refused_as_too_slow(planted_child):
    # A second of CPU time (as child.limit_self sets), then a decoder that spins.
    planted_child(
        "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 2))\nwhile True: pass\n"
    )
    started = time.monotonic()

    with override_settings(ATTACHMENT_CLEAN_SECONDS=20):
        assert refused(jpeg(photo())).code == "too_slow"
    assert time.monotonic() - started < 15  # the CPU limit ended it, not the wall clock


def test_a_child_that_crashes_is_refused_as_broken(planted_child):
    planted_child("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")

    assert refused(jpeg(photo())).code == "broken"


def cleaning_children() -> list[int]:
    """The pids of this process's cleaning children (Linux /proc); the test run
    has others too (a browser, a Celery worker)."""
    pids = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as children:
            pids += [int(pid) for pid in children.read().split()]
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as command:
                if b"attachments/child.py" in command.read():
                    found.append(pid)
        except FileNotFoundError:  # ended meanwhile
            pass
    return found


def niceness(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        # The command's name may hold spaces: the fields after its ")" are plain.
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def test_the_cleaning_child_runs_below_the_web_worker():
    """Requests without files are served first while photos are decoded: the
    child (here the spare left waiting after a clean) lowers its own priority."""
    clean(jpeg(photo()))
    own = niceness(os.getpid())
    expected = min(19, own + 10)
    deadline = time.monotonic() + 10
    seen: dict[int, int] = {}
    while time.monotonic() < deadline:
        seen = {pid: niceness(pid) for pid in cleaning_children()}
        if seen and all(value == expected for value in seen.values()):
            break
        time.sleep(0.05)
    assert seen, "no cleaning child was left waiting"
    assert set(seen.values()) == {expected}
