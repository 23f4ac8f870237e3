"""Attachments from requesters: clean copies of photos and documents (clean.py,
with its sandboxed child in child.py)."""
