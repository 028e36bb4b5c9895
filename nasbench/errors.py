"""The one exception family the CLI turns into a single line on stderr and exit status 2."""


class UsageError(Exception):
    """Bad input from the user: an unknown name, a missing or malformed file, an impossible value."""
