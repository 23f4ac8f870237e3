"""
dev.py mutants must see a survivor: a tiny module with a weak test, mutated by
cosmic-ray in a folder of its own, leaves one mutant alive, and the run fails
naming it until the baseline lists it. The naming itself ignores line numbers,
so an edit elsewhere in a module keeps the baseline valid.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import dev  # noqa: E402 - dev.py sits beside the tests' folder, not in a package

AGES = """
ADULT = 18


def is_adult(age: int | None) -> bool:
    return age >= ADULT
"""

# Catches every mistake but one: the threshold moved down by a year (17).
WEAK_TEST = """
from ages import is_adult


def test_adults_and_children():
    assert is_adult(18)
    assert is_adult(40)
    assert not is_adult(5)
"""

SURVIVOR = "ages.py <module> core/NumberReplacer «ADULT = 18» → «ADULT = 17»"

RUN = """
import os
import sys
from pathlib import Path

import dev

# The tiny module is no Django project: plain pytest, without the plugins, starts fastest.
os.environ.pop("DJANGO_SETTINGS_MODULE", None)
os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"

scratch, baseline_file = Path(sys.argv[1]), Path(sys.argv[2])
config = {
    "run": {
        "timeout-factor": 4,
        "min-timeout": 30,
        "keep-only": {"ReplaceComparisonOperator": ["GtE_Gt", "GtE_Lt"]},
    },
    "modules": {"ages.py": ["test_ages.py"]},
}
_, baseline = dev.parse_mutation_baseline(baseline_file.read_text())
options = {"modules": [], "changed": False, "budget": None, "seed": None, "record": False}
results = dev.mutate_modules(scratch, ["ages.py"], config["modules"], config, baseline, options)
dev.report_mutants(results, ["ages.py"], baseline, options)
"""


def run_mutants(folder: Path, baseline: str) -> subprocess.CompletedProcess:
    (folder / "ages.py").write_text(AGES)
    (folder / "test_ages.py").write_text(WEAK_TEST)
    baseline_file = folder.parent / "baseline.txt"
    baseline_file.write_text(baseline)
    return subprocess.run(
        [sys.executable, "-c", RUN, str(folder), str(baseline_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "copy").mkdir()
    return tmp_path / "copy"


def test_a_survivor_the_baseline_does_not_list_fails_the_run_and_is_named(folder):
    result = run_mutants(folder, "")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 mutants survived that the baseline does not list" in result.stdout
    assert f"{SURVIVOR} — WHY IT CANNOT CHANGE BEHAVIOUR" in result.stdout
    assert "-ADULT = 18" in result.stdout and "+ADULT = 17" in result.stdout  # the diff
    # The other mutants were caught, and the annotation `int | None` was not mutated.
    assert "0 equivalent (baseline), 1 survived" in result.stdout
    assert "«age: int & None»" not in result.stdout
    assert (folder / "ages.py").read_text() == AGES  # the module is put back


def test_a_survivor_the_baseline_lists_passes_the_run(folder):
    result = run_mutants(folder, f"{SURVIVOR} — stands for a planted weak test\n")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 equivalent (baseline), 0 survived" in result.stdout
    assert "no survivor outside the baseline" in result.stdout


def test_a_baseline_line_names_a_mutant_without_its_line_number():
    diff_here = "@@ -3,7 +3,7 @@\n-    if len(x) < 12:\n+    if len(x) <= 12:\n"
    diff_lower_down = "@@ -90,7 +90,7 @@\n-    if  len(x) < 12:\n+    if len(x) <=  12:\n"
    name = ("m.py", "f", "core/ReplaceComparisonOperator_Lt_LtE")

    key = dev.mutant_key(*name, diff_here)

    assert key == dev.mutant_key(*name, diff_lower_down)
    line = dev.baseline_line(key, "x is never 12 long here")
    assert line == (
        "m.py f core/ReplaceComparisonOperator_Lt_LtE «if len(x) < 12:» → «if len(x) <= 12:»"
        " — x is never 12 long here"
    )
    assert dev.parse_mutation_baseline(line)[1] == {key: "x is never 12 long here"}


def test_the_second_of_two_identical_lines_is_named_apart():
    source = "def f(x):\n    if x:\n        return False\n    return  False\n"
    diff = "-    return False\n+    return True\n"
    name = ("m.py", "f", "core/ReplaceFalseWithTrue", diff, source)

    assert dev.mutant_key(*name, 3)[1] == "f"
    assert dev.mutant_key(*name, 4)[1] == "f#2"


def test_a_removed_decorator_is_named_by_the_function_it_decorated():
    source = "import functools\n\n\n@functools.cache\ndef fields(model):\n    return {}\n"
    diff = "-\n-\n-@functools.cache\n"

    key = dev.mutant_key("m.py", None, "core/RemoveDecorator", diff, source, 4)

    assert key == ("m.py", "fields", "core/RemoveDecorator", "@functools.cache", "")


def test_a_baseline_line_without_a_reason_is_refused():
    with pytest.raises(SystemExit) as refused:
        dev.parse_mutation_baseline("m.py f core/AddNot «if x:» → «if not x:»\n")

    assert "not a baseline line" in str(refused.value)


def test_the_baseline_records_each_module_checked():
    checked, survivors = dev.parse_mutation_baseline(
        "# comment\nchecked encryption/chats.py 0123abcd 2026-12-07\n"
    )

    assert checked == {"encryption/chats.py": "0123abcd"}
    assert survivors == {}


def test_only_the_chosen_partners_of_an_operator_are_kept():
    keep = {"ReplaceComparisonOperator": ["Lt_LtE", "Lt_GtE"]}

    assert dev.operator_wanted("core/ReplaceComparisonOperator_Lt_LtE", keep)
    assert not dev.operator_wanted("core/ReplaceComparisonOperator_Lt_Is", keep)
    assert dev.operator_wanted("core/NumberReplacer", keep)  # a family not named runs in full


def test_modules_are_named_by_path_dotted_name_or_package():
    known = ["encryption/chats.py", "encryption/content.py", "intake/receipts.py"]

    assert dev.parse_mutants_args(["intake.receipts"], known)["modules"] == ["intake/receipts.py"]
    assert dev.parse_mutants_args(["encryption", "--budget", "200", "--sample", "2"], known) == {
        "modules": ["encryption/chats.py", "encryption/content.py"],
        "changed": False, "budget": 200, "seed": None, "sample": 2, "record": False,
    }  # fmt: skip
    with pytest.raises(SystemExit):
        dev.parse_mutants_args(["cases/nowhere.py"], known)


def test_every_configured_module_and_test_file_exists():
    import tomllib

    config = tomllib.loads(dev.MUTATION_CONFIG.read_text())

    for module, tests in config["modules"].items():
        assert (ROOT / module).is_file(), module
        assert tests and all((ROOT / test.split("::")[0]).is_file() for test in tests), module
    for module in dev.parse_mutation_baseline(dev.MUTATION_BASELINE.read_text())[0]:
        assert module in config["modules"], module


def test_changed_picks_the_modules_edited_since_their_full_run(tmp_path):
    for name in ("same.py", "edited.py", "never.py"):
        (tmp_path / name).write_text("ANSWER = 42\n")
    checked = {m: dev.module_digest(tmp_path / m) for m in ("same.py", "edited.py")}
    (tmp_path / "edited.py").write_text("ANSWER = 43\n")

    modules = ["same.py", "edited.py", "never.py"]
    assert dev.changed_modules(modules, checked, tmp_path) == ["edited.py"]
