"""
The deployment files say what the deployment guide promises: no nginx version
on any server block, every container without capabilities or a way to gain
privileges, and every image pinned by digest. Docker and nginx are not run
here; the files are parsed.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DIGEST = re.compile(r"^[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def nginx_blocks(text: str) -> list:
    """
    nginx's configuration as a tree: a list of (name, arguments, children),
    children being None for a simple directive. Comments and quotes are handled;
    that is all this file needs.
    """
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[{};]|[^\s{};"\']+', _without_comments(text))
    tree, _ = _parse(tokens, 0)
    return tree


def _without_comments(text: str) -> str:
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())


def _parse(tokens: list[str], at: int) -> tuple[list, int]:
    directives, words = [], []
    while at < len(tokens):
        token = tokens[at]
        at += 1
        if token == ";":
            directives.append((words[0], words[1:], None))
            words = []
        elif token == "{":
            children, at = _parse(tokens, at)
            directives.append((words[0], words[1:], children))
            words = []
        elif token == "}":
            return directives, at
        else:
            words.append(token)
    assert not words, f"unterminated directive {words}"
    return directives, at


def servers(tree: list) -> list[list]:
    return [children for name, _, children in tree if name == "server"]


def setting(block: list, name: str) -> list[list[str]]:
    return [args for directive, args, children in block if directive == name and children is None]


def test_the_parser_reads_blocks_and_directives():
    tree = nginx_blocks('a 1; # b 2;\nserver { listen 80; x "y z"; } c;')
    assert tree == [
        ("a", ["1"], None),
        ("server", [], [("listen", ["80"], None), ("x", ['"y z"'], None)]),
        ("c", [], None),
    ]


def test_every_nginx_server_hides_the_version():
    tree = nginx_blocks((ROOT / "deploy/nginx/tropa.conf").read_text(encoding="utf-8"))
    blocks = servers(tree)

    port_80 = re.compile(r"^(.*:)?80$")
    listening_on_80 = [b for b in blocks if any(port_80.match(a[0]) for a in setting(b, "listen"))]
    assert len(blocks) >= 4 and len(listening_on_80) == 2  # the catch-all and the redirect
    for block in blocks:
        assert setting(block, "server_tokens") == [["off"]], setting(block, "listen")


def test_postgresql_and_redis_run_without_capabilities_or_new_privileges():
    services = compose()["services"]

    for name in ("postgres", "redis"):
        service = services[name]
        assert service["cap_drop"] == ["ALL"], name
        assert "cap_add" not in service, name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service.get("user") not in (None, "root", "0", "0:0"), name


def test_every_container_drops_every_capability():
    for name, service in compose()["services"].items():
        assert "ALL" in service.get("cap_drop", []), name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert not service.get("privileged", False), name


def test_every_image_is_pinned_by_digest():
    services = compose()["services"]
    pulled = {name: s["image"] for name, s in services.items() if "build" not in s}
    assert set(pulled) == {"postgres", "redis"}
    for name, image in pulled.items():
        assert DIGEST.match(image), f"{name}: {image}"

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert bases
    for base in bases:
        assert DIGEST.match(base), base
