"""Monthly aggregate reports and the coordinators' dashboard."""
