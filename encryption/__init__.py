"""
Encryption at rest for every value that could identify a person.

`encryption.fields` is the only module that touches django-cryptography, so the
library can be swapped without touching a model. Keys come from
ENCRYPTION_KEY (current) and ENCRYPTION_OLD_KEYS (read-only, during a
rotation); SECRET_KEY is never used for stored data.
"""
