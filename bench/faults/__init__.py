"""
Fault scenarios: the app started as in production, one part broken on purpose,
and a check that it recovers with nothing lost. Each module is a script that
exits 0 on recovery and non-zero otherwise; `run_all` runs them all.

    .venv/bin/python -m bench.faults.run_all
"""
