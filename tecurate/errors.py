"""The one exception type for problems the user can fix."""


class TecurateError(Exception):
    """Bad input or a bad option: the CLI prints the message on one line and exits 2.

    Raised as early as possible (before embedding or fitting) so a user never waits
    minutes to learn that a column name was misspelled.
    """
