"""
What cleaning an attachment costs (intake/attachments/clean.py).

Prints, for a 12-megapixel phone JPEG with EXIF (noise over a gradient, so it
compresses like a photo) and a 20-page A4 PDF: clean() p50/p95 over --runs runs,
next to the same decoding and re-encoding done in this process without a child
(the floor: what the sandbox adds is the ratio); and the child's start-up, cold
(a new interpreter importing the decoders) and hidden (the spare child already
waiting). Targets from issue 24: photo p95 under 1 s, the PDF under 5 s.

    python dev.py bench attachment_bench [--runs 10]

"Spaced" runs leave the spare child time to load between files (uploads from
different people); "back to back" runs do not (five files in one request).
No asserts on time: on a shared machine the numbers follow the neighbours.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from PIL import Image  # noqa: E402

from intake.attachments import child  # noqa: E402
from intake.attachments.clean import _command, _limits, _start_child, clean  # noqa: E402


def phone_photo() -> bytes:
    width, height = 4000, 3000
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    picture = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0xA431] = "SN-0000"
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def document(pages: int = 20) -> bytes:
    """A4 pages with text and boxes, one content stream each."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for number in range(pages):
        lines = b"".join(
            b"BT /F1 11 Tf 50 %d Td (Line %d of page %d: some words as on a summons) Tj ET\n"
            % (780 - 14 * row, row, number)
            for row in range(50)
        )
        content = lines + b"0.2 0.2 0.8 rg 50 50 200 80 re f\n"
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
            b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (len(objects), font)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def timed(action, runs: int, pause: float = 0.0) -> list[float]:
    times = []
    for _ in range(runs):
        time.sleep(pause)
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.3f} s  p95 {p95:.3f} s  max {ordered[-1]:.3f} s"


def ratio(times: list[float], floor: list[float]) -> float:
    return statistics.median(times) / statistics.median(floor)


def cold_start() -> float:
    """A new child, from start to its answer to an empty request."""
    started = time.perf_counter()
    process = _start_child(_command(_limits()))
    process.communicate(b"none\n")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    max_pixels, max_pages = _limits()[:2]
    child.preload()

    photo, pdf = phone_photo(), document()
    tiny = io.BytesIO()
    Image.new("RGB", (64, 64), "grey").save(tiny, "JPEG")
    print(f"photo: 4000x3000 JPEG, {len(photo) / 1e6:.1f} MB; PDF: 20 A4 pages, {len(pdf)} bytes")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")

    starts = [cold_start() for _ in range(runs)]
    print(f"child start-up, cold:          {percentiles(starts)}")
    clean(tiny.getvalue())
    hidden = timed(lambda: clean(tiny.getvalue()), runs, pause=1.5)
    print(f"64x64 clean(), spare waiting:  {percentiles(hidden)}  (the sandbox's floor)\n")

    floor = timed(lambda: child.clean_image(photo, "jpeg", max_pixels), runs)
    spaced = timed(lambda: clean(photo), runs, pause=1.5)
    back = timed(lambda: clean(photo), runs)
    print(f"12 MP photo, in process:       {percentiles(floor)}")
    print(f"12 MP photo, clean() spaced:   {percentiles(spaced)}  target p95 < 1 s")
    print(f"12 MP photo, back to back:     {percentiles(back)}")
    print(f"sandbox / in process (p50):    {ratio(spaced, floor):.2f}\n")

    pdf_runs = max(3, runs // 3)
    pdf_floor = timed(lambda: child.clean_pdf(pdf, max_pixels, max_pages), pdf_runs)
    pdf_clean = timed(lambda: clean(pdf), pdf_runs, pause=1.5)
    print(f"20-page PDF, in process:       {percentiles(pdf_floor)}")
    print(f"20-page PDF, clean():          {percentiles(pdf_clean)}  target < 5 s")
    print(f"sandbox / in process (p50):    {ratio(pdf_clean, pdf_floor):.2f}")


if __name__ == "__main__":
    main()
