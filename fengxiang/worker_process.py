"""Worker processes that end with their parent.

A crawl that is killed outright (past its time limit, ``kill -9``) or an import killed mid-way cannot
shut its process pool down, and a pool worker does not notice: its task queue's pipe stays open in
the worker itself, so it waits for work forever, holding a few hundred MB. In the 24×7 service every
such kill would leak one. Pools start their workers with :func:`exit_with_parent` as initializer.
"""

from __future__ import annotations

import os
import threading
import time

_CHECK_EVERY = 1.0  # seconds


def exit_with_parent() -> None:
    """Watch the parent from a daemon thread; end this process the moment it is gone (reparented).

    Ending mid-batch is safe: a batch is one store transaction, and the crawl's cursors only advance
    after a clean finish, so the next run fetches it again."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_CHECK_EVERY)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
