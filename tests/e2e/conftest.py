"""Browser tests: Playwright for Python driving Debian's `chromium` (Playwright's own browser
download is out of reach of these machines), against a real `omnistock serve`.

Without chromium or Playwright the tests skip with that reason, except under CI, where they
must run (`.ci/run` installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clusters import running_in_ci

ARTIFACTS = Path(__file__).parent / "artifacts"


def chromium_path() -> str | None:
    return os.environ.get("OMNISTOCK_TEST_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless chromium for a module's tests (Playwright's `Browser`); a module's, not
    the session's, so that Playwright's own event loop never outlives the browser tests."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        executable = None
    if executable is None:
        reason = "no chromium (apt-get install chromium) or no Playwright (pip install playwright)"
        if running_in_ci():
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
