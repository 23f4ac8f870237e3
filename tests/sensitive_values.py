"""
What the log scan looks for: every value a test run sealed or encrypted, and
every receipt code it issued (tests/log_scan.py reads them from a file).

The values are observed where every sealing path passes, not at one helper
that a refactor can step around: `ValueSealer.seal_text` for content sealed
to the organisation key (whichever function or batch builds the sealer), the
at-rest `Keyring.encrypt` for everything else, and `receipts.new_code`.

As a check on that choice, the symmetric primitive underneath
(`encryption.content._seal_with`) is observed too: every value it seals under
a value's associated data must also have been collected. A new sealing path
that bypasses `seal_text` shows up as "sealed but not collected", and the
scan fails instead of checking too little (how it was blind once).
"""

from pathlib import Path

VALUES_FILE = "sensitive-values.txt"
UNCOLLECTED_FILE = "sealed-but-not-collected.txt"
# Shortest value the log scan looks for: shorter ones ("ok", "bye") occur
# in ordinary log text by chance.
SHORTEST_SCANNED = 6
# The associated data of a sealed value starts with this (any version).
VALUE_AAD = b"tropa/value/"


def module_names() -> frozenset[str]:
    """The names of the project's modules and packages, and the words they are
    made of: every log line names its logger (audit.checks, cases.services) and
    a traceback names files (tests/test_console_output.py), so a test value that
    happens to be one of these words ("checks", "console") would be found in a
    log by chance."""
    root = Path(__file__).resolve().parent.parent
    names = set()
    for path in root.glob("*/**/*.py"):
        if ".venv" not in path.parts:
            parts = [part.removesuffix(".py") for part in path.relative_to(root).parts]
            names.update(parts)
            names.update(word for part in parts for word in part.split("_"))
    return frozenset(names)


def scannable(values: set[str]) -> list[str]:
    """The lines worth looking for: a value of several lines is looked for line by
    line; degenerate strings ("000000", made by hypothesis), very short ones and
    the project's own module names are skipped, since they could match ordinary
    log text by chance."""
    lines = {line.strip() for value in values for line in value.splitlines()}
    ordinary = module_names()
    return sorted(
        line
        for line in lines
        if len(line) >= SHORTEST_SCANNED and len(set(line)) >= 4 and line not in ordinary
    )


class SensitiveValues:
    """Observes, without changing, the sealing, encryption and receipt codes of a run."""

    def __init__(self) -> None:
        self.collected: set[str] = set()
        self.sealed: set[str] = set()  # seen at the primitive, for the cross-check
        self._originals: list[tuple[object, str, object]] = []

    def start(self) -> "SensitiveValues":
        from encryption import content
        from encryption.fields import Keyring
        from encryption.padding import BadPadding, unpad
        from intake import receipts

        collected, sealed = self.collected, self.sealed
        encrypt, seal_text = Keyring.encrypt, content.ValueSealer.seal_text
        seal_with, new_code = content._seal_with, receipts.new_code

        def observed_encrypt(keyring, plaintext: bytes, *args, **kwargs) -> bytes:
            if not content.is_sealed(plaintext):  # content is observed as it is sealed
                collected.add(unpad(plaintext).decode("utf-8", "replace"))
            return encrypt(keyring, plaintext, *args, **kwargs)

        def observed_seal_text(sealer, text: str, *args, **kwargs) -> bytes:
            collected.add(text)
            return seal_text(sealer, text, *args, **kwargs)

        def observed_seal_with(aead, plaintext: bytes, aad: bytes, *args, **kwargs) -> bytes:
            if aad.startswith(VALUE_AAD):
                try:
                    sealed.add(unpad(plaintext).decode("utf-8", "replace"))
                except BadPadding:
                    sealed.add(plaintext.decode("utf-8", "replace"))
            return seal_with(aead, plaintext, aad, *args, **kwargs)

        def observed_new_code() -> str:
            code = new_code()
            collected.update({code, receipts.formatted(code)})
            return code

        self._replace(Keyring, "encrypt", observed_encrypt)
        self._replace(content.ValueSealer, "seal_text", observed_seal_text)
        self._replace(content, "_seal_with", observed_seal_with)
        self._replace(receipts, "new_code", observed_new_code)
        return self

    def _replace(self, owner: object, name: str, observer: object) -> None:
        self._originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, observer)

    def stop(self) -> None:
        while self._originals:
            owner, name, original = self._originals.pop()
            setattr(owner, name, original)

    def uncollected(self) -> list[str]:
        """Values the primitive sealed that the scan would not look for."""
        return sorted(set(scannable(self.sealed)) - set(scannable(self.collected)))

    def write(self, folder: Path, extra: set[str] = frozenset()) -> None:
        """The scan's input beside the logs: what to look for, and what was missed."""
        values = scannable(self.collected | set(extra))
        (folder / VALUES_FILE).write_text("".join(f"{v}\n" for v in values), encoding="utf-8")
        missed = self.uncollected()
        (folder / UNCOLLECTED_FILE).write_text("".join(f"{v}\n" for v in missed), encoding="utf-8")
