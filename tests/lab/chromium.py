"""Headless Chromium through Selenium: Debian's chromium driven by its chromedriver (no browser download of its own),
for the dashboard's browser test and the cost measure (live_cost.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import NoReturn

MISSING = "needs chromium and chromedriver (apt-get install -y chromium chromium-driver)"


def chromium(missing: Callable[[str], NoReturn]):
    """A headless Chromium, 1400x1000; ``missing`` (which does not return) is called with MISSING when it is not
    installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        missing(MISSING)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)
