"""Storage of mentions, authors, crawl cursors and source health.

``open_store(location)`` returns the backend for a configured location; every backend implements
the :class:`store.base.Store` protocol and passes the same contract tests.
"""
