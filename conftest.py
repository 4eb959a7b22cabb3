"""Test isolation for the whole repository (tests/ and the doctests in s2s/):
s2s's disk cache goes to a fresh temporary directory, never the user's cache.

``S2S_TEST_CACHE_DIR=dir`` uses (and keeps) ``dir`` instead: running the suite
twice against it runs every test on code loaded from the cache.
"""

import os
import shutil
import tempfile

import pytest

_KEEP = os.environ.get("S2S_TEST_CACHE_DIR")
_CACHE_DIR = _KEEP or tempfile.mkdtemp(prefix="s2s-test-cache-")
# set at import, before any test module is collected; tests' subprocesses inherit it
os.environ["S2S_CACHE_DIR"] = _CACHE_DIR
os.environ.pop("S2S_CACHE", None)


@pytest.fixture(autouse=True, scope="session")
def s2s_cache_dir():
    """The session's cache directory (removed at the end unless kept)."""
    yield _CACHE_DIR
    if not _KEEP:
        shutil.rmtree(_CACHE_DIR, ignore_errors=True)
