"""Screenshots of every page a browser test visits: the whole page at desktop width and
at phone width (or at the one width a walk runs at), under
test-artifacts/screenshots/<test>/<NN-step>-<width>.png (CI keeps them as artefacts), with a
check that the phone view does not scroll sideways."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import Page

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


class Camera:
    """`camera(page, "signup-form")` captures both widths, then restores the desktop size.
    Steps are numbered in the order taken, so the folder reads as the flow."""

    def __init__(self, test_name: str):
        self.folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken = 0

    def __call__(self, page: Page, step: str) -> None:
        self.taken += 1
        name = f"{self.taken:02d}-{step}"
        self._capture(page, name, DESKTOP)
        page.set_viewport_size(PHONE)
        try:
            self._capture(page, name, PHONE)
            width = page.evaluate("document.documentElement.scrollWidth")
        finally:
            page.set_viewport_size(DESKTOP)
        assert width <= PHONE["width"], (
            f"{step} ({page.url}) is {width}px wide at {PHONE['width']}px: it scrolls sideways"
        )

    def at_this_width(self, page: Page, step: str) -> None:
        """Only the width the page is shown at (a walk that runs once per width)."""
        self.taken += 1
        self._capture(page, f"{self.taken:02d}-{step}", page.viewport_size)

    def _capture(self, page: Page, name: str, size: dict) -> None:
        _load_frames(page)
        page.screenshot(path=str(self.folder / f"{name}-{size['width']}.png"), full_page=True)


def _load_frames(page: Page) -> None:
    """Bring every frame into view, loaded and painted at the current width. Frames load
    lazily, and Chromium does not repaint a cross-origin (sandboxed) frame while it is off
    screen: a full-page screenshot would show an empty box where a person sees the email.
    The page stays scrolled there; a full-page screenshot does not depend on the scroll."""
    frames = page.locator("iframe")
    for index in range(frames.count()):
        frame = frames.nth(index)
        frame.scroll_into_view_if_needed()
        frame.element_handle().content_frame().wait_for_load_state()
        frame.screenshot()  # returns once the frame is laid out and painted at this width
