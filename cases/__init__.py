"""Case workflow: states and moves, assignment, encrypted notes, the triage queue."""
