"""The log scan finds a planted sensitive value, and passes clean logs."""

from tests.log_scan import main, scan


def write(folder, values: list[str], logs: dict[str, str]) -> None:
    (folder / "sensitive-values.txt").write_text("".join(f"{v}\n" for v in values))
    for name, text in logs.items():
        (folder / name).write_text(text)


def test_a_value_in_any_log_is_found_and_fails_the_scan(tmp_path, capsys):
    write(
        tmp_path,
        ["@requester_00042", "I need to leave my unit"],
        {"app.log": "INFO all fine\n", "gunicorn-1.log": "POST / 200 @requester_00042\n"},
    )

    assert scan(tmp_path)[2] == [("@requester_00042", "gunicorn-1.log")]
    assert main([str(tmp_path)]) == 1
    assert "1 found" in capsys.readouterr().out


def test_clean_logs_pass(tmp_path):
    write(tmp_path, ["@requester_00042"], {"app.log": "INFO request stored GL-7K3M-Q9TX\n"})

    assert main([str(tmp_path)]) == 0


def test_a_run_without_logs_or_values_does_not_pass(tmp_path):
    assert main([str(tmp_path)]) == 2
    write(tmp_path, ["@requester_00042"], {})
    assert main([str(tmp_path)]) == 2


def test_a_url_in_a_log_fails_the_scan(tmp_path, capsys):
    write(
        tmp_path,
        ["@requester_00042"],
        {"app.log": "WARNING Forbidden (Origin checking failed - https://elsewhere.example)\n"},
    )

    assert main([str(tmp_path)]) == 1
    assert "app.log, line 1: a URL" in capsys.readouterr().out


def test_a_raw_control_or_invisible_character_fails_the_scan(tmp_path, capsys):
    write(
        tmp_path,
        ["@requester_00042"],
        {
            "gunicorn-1.log": '"GET /\x00 HTTP/1.1" 404\n',
            "app.log": "INFO contact +7 900\u202e1234\n",
        },
    )

    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "gunicorn-1.log, line 1: raw control or invisible characters '\\x00'" in out
    assert "app.log, line 1: raw control or invisible characters '\\u202e'" in out


def test_escaped_forms_and_masked_urls_pass(tmp_path):
    write(
        tmp_path,
        ["@requester_00042"],
        {"app.log": 'INFO "GET /\\x00\\n HTTP/1.1" 404\nWARNING Origin checking failed - [url]\n'},
    )

    assert main([str(tmp_path)]) == 0
