"""Errors raised at the edges of the toolkit.

Every problem a user can cause with their data, their configuration or their
run directory is raised as one of these, with a message that fits on one line
and names the file (and line) at fault. The CLI turns them into a one-line
message and a non-zero exit; library users can catch them like any
`ValueError`.
"""


class KerasNLPSeqError(ValueError):
    """Base class: a problem the user can fix, described in one line."""


class DataError(KerasNLPSeqError):
    """A data file or data set is missing, malformed or unusable.

    Args:
        message: str. What is wrong, what was expected, what was received.
        path: str or None. The file at fault.
        line: int or None. The 1-based line number at fault.
    """

    def __init__(self, message, path=None, line=None):
        self.path = None if path is None else str(path)
        self.line = line
        self.problem = message
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
            where += ": "
        super().__init__(where + message)


class ConfigError(KerasNLPSeqError):
    """An option or configuration value is invalid."""


class RunError(KerasNLPSeqError):
    """A run directory is missing, incomplete, or would be overwritten."""
