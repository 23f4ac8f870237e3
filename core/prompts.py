"""
Asking an operator for a secret or a confirmation in a management command.

Passwords and keys never come from the command line (they would sit in the
shell history and in every process listing): they are typed at a prompt that
does not echo, or, when the command is fed by a pipe (scripts, tests), read as
one line from standard input.
"""

import getpass
import sys


def ask_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline().rstrip("\r\n")


def ask_line(prompt: str) -> str:
    if sys.stdin.isatty():
        return input(prompt)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline().strip()
