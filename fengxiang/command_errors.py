"""What every command shares with ``fengxiang.cli.main``: the exit codes and the two errors it turns into a
message and a code. A module of its own, so command modules need not import the CLI (which, run as
``python -m fengxiang.cli``, is a second copy of itself whose classes ``main`` would never catch).

Exit codes: 0 done; 1 partial (some input lines were rejected, the rest stored; or a crawl or a
delivery failed); 2 the config or the command line is wrong; 3 the store or a file could not be used.
"""

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


class UsageError(Exception):
    """The command line asks for something impossible; the message says what to write instead."""


class FileProblem(Exception):
    """An input or output file cannot be used; the message names it and the reason."""
