"""Help requests: the public form, the bot API, CSV import and receipt codes."""
