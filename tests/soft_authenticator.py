"""
A software WebAuthn authenticator for tests: an EC P-256 key, and the bytes a
real one would send (authenticatorData, clientDataJSON, its signature, a "none"
attestation), built here by hand. It talks to our views through the Django
test client, so every assertion goes through django-otp-webauthn's and
py_webauthn's verification as a browser's would. The origin it claims is its
own choice: a relaying phishing page's browser would claim the page's.
"""

import hashlib
import json
import os
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    def __init__(self, rp_id: str = "localhost", origin: str = "https://localhost") -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0

    def _cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin},
            separators=(",", ":"),
        ).encode()

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def attestation(self, options: dict, origin: str | None = None) -> dict:
        """The answer to navigator.credentials.create() for these options."""
        attested = (
            bytes(16)  # AAGUID
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_public_key()
        )
        auth_data = self._rp_hash() + bytes([UP | UV | AT]) + struct.pack(">I", 0) + attested
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def assertion(
        self, options: dict, *, origin: str | None = None, counter: int | None = None
    ) -> dict:
        """The answer to navigator.credentials.get(): signed, counter moved on
        (or set, for a clone that lags behind)."""
        if counter is None:
            self.sign_count += 1
            counter = self.sign_count
        auth_data = self._rp_hash() + bytes([UP | UV]) + struct.pack(">I", counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64url(auth_data),
                "clientDataJSON": b64url(client_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }


def _post_json(client, path: str, body: dict | None = None, **extra):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **extra)


def register(client, authenticator: SoftAuthenticator, **extra):
    """The registration ceremony through our endpoints; the completing response."""
    begin = _post_json(client, "/staff/webauthn/registration/begin/", **extra)
    assert begin.status_code == 200, begin.content
    return _post_json(
        client,
        "/staff/webauthn/registration/complete/",
        authenticator.attestation(begin.json()),
        **extra,
    )


def begin_assertion(client, **extra) -> dict:
    begin = _post_json(client, "/staff/webauthn/authentication/begin/", **extra)
    assert begin.status_code == 200, begin.content
    return begin.json()


def complete_assertion(client, body: dict, **extra):
    return _post_json(client, "/staff/webauthn/authentication/complete/", body, **extra)


def sign_in_with(client, authenticator: SoftAuthenticator, **kwargs):
    """The second step with the passkey (after the password): the completing response."""
    options = begin_assertion(client)
    return complete_assertion(client, authenticator.assertion(options, **kwargs))
