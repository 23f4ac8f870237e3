# One date style per language (core/dates.py): "9 December 2026", not "Dec. 9, 2026".
# Russian keeps Django's own («9 декабря 2026 г.»), which already is that style.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
