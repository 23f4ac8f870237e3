"""Site-wide pieces: language choice, health check, base layout."""
