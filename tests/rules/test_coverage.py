"""docs/coverage.md is what tools/coverage.py writes from the registry."""

import pathlib
import subprocess
import sys

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "coverage.py"


def test_coverage_table_is_current():
    # a fresh process: the tool finds each rule's family by importing the modules
    result = subprocess.run([sys.executable, str(TOOL), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or result.stdout
