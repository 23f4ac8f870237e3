"""
schemathesis hooks for tests/test_api_schema.py (SCHEMATHESIS_HOOKS).

An attachment is a string in base64 (`format: byte`) of a photo or a PDF. Any
base64 fits the schema, but only a real image is accepted, so the positive
phase would see honest 400s ("not a photo") for data it takes to be valid.
Here, `byte` strings are small real images (PNG or JPEG, of random sizes and
colours), so what schemathesis calls valid is what the server accepts; the
negative phase still sends everything else.
"""

import base64
import io

import schemathesis
from hypothesis import strategies as st
from PIL import Image


def _image(width: int, height: int, colour: tuple[int, int, int], kind: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, kind)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


schemathesis.openapi.format(
    "byte",
    st.builds(
        _image,
        st.integers(1, 64),
        st.integers(1, 64),
        st.tuples(*[st.integers(0, 255)] * 3),
        st.sampled_from(["PNG", "JPEG"]),
    ),
)
