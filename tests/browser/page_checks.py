"""What every page must be, measured in the browser: nothing wider than the screen, header
targets a thumb can hit, the language the page says it speaks, and (German pages) no English
left on them. Each check returns the problems it found, as sentences naming the element."""

from __future__ import annotations

import re

from playwright.sync_api import Page

TAP_TARGET = 44

# One visit to the page for every measure, since each round trip to the browser costs time:
# boxes and text reaching past either edge (a box its ancestor clips, as for the visually
# hidden column names of a table shown as cards, is not seen; one inside a scrolling box is,
# since the person would have to scroll it sideways), the header's visible links and buttons
# with their heights, the language the page declares, whether the menu is folded behind its
# button, and (when asked) the text a person reads, without what is data, not the site's words.
_MEASURE = """(withText) => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    [...el.classList].map(c => "." + c).join("");
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (["hidden", "clip"].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  const overflow = [];
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > window.innerWidth) overflow.push(`the page is ${pageWidth}px wide`);
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if ((box.right > width + 1 || box.left < -1) && !clipped(el)) {
      const text = (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50);
      const span = `${Math.round(box.left)}..${Math.round(box.right)}px`;
      overflow.push(`${describe(el)} spans ${span}: "${text}"`);
    }
  }
  // Text can run past its own box (a label that may not wrap): measured apart.
  const range = document.createRange();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.textContent.trim()) continue;
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.width === 0 || (box.right <= width + 1 && box.left >= -1)) continue;
    if (["hidden", "clip"].includes(getComputedStyle(el).overflowX) || clipped(el)) continue;
    const text = node.textContent.trim().replace(/\\s+/g, " ").slice(0, 50);
    const span = `${Math.round(box.left)}..${Math.round(box.right)}px`;
    overflow.push(`text of ${describe(el)} spans ${span}: "${text}"`);
  }
  const targets = [...document.querySelectorAll("header a, header button")]
    .filter(el => el.checkVisibility({visibilityProperty: true}))
    .map(el => [el.textContent.trim(), Math.round(el.getBoundingClientRect().height * 10) / 10]);
  const menu = document.querySelector(".menu-button");
  const words = [];
  if (withText) {
    // Mail is written in its recipient's language, not the page's: its subjects are data.
    const data = "code, pre, kbd, samp, script, style, .address, .source, .mail-text, " +
      ".error-cell, .mailbox-subject, .mail-subject, td:has(> .template-name) > a";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (el && !el.closest(data) && el.checkVisibility()) words.push(node.textContent);
    }
  }
  return {
    overflow, targets, lang: document.documentElement.lang,
    folded: !!menu && menu.checkVisibility() && menu.getAttribute("aria-expanded") === "false",
    text: words.join(" ").replace(/\\s+/g, " "),
  };
}"""


# Words of the English interface that a German page must not show: each is a label or
# button of the site, and none is a header name, a product name or a word German borrows.
ENGLISH_WORDS = re.compile(
    r"\b(Log in|Log out|Sign up|Password|Address|Email|Account|Send|Sent|Cancel|Continue|"
    r"Choose|Change|Delete|Retry|Back|Your|You)\b"
)


def page_problems(
    page: Page, language: str, *, german_text: bool = False, open_menu: bool = True
) -> list[str]:
    """Everything wrong with the page shown, its folded menu opened too (unless `open_menu`
    is False: a walk opens it once per person, as it holds the same links on every page);
    `german_text` adds the English words left on a German page."""
    facts = page.evaluate(_MEASURE, german_text)
    found = facts["overflow"] + _small_targets(facts["targets"])
    if facts["lang"] != language:
        found.append(f'<html lang="{facts["lang"]}">, not "{language}"')
    if german_text:
        found += _english_in(facts["text"])
    if facts["folded"] and open_menu:
        menu = page.locator(".menu-button")
        menu.click()
        opened = page.evaluate(_MEASURE, False)
        menu.click()
        problems = opened["overflow"] + _small_targets(opened["targets"])
        found += [f"with the menu open, {problem}" for problem in problems]
    return found


def overflowing(page: Page) -> list[str]:
    """Only the width: for what has no header or language of its own (plain text)."""
    return page.evaluate(_MEASURE, False)["overflow"]


def _small_targets(targets: list) -> list[str]:
    """Header links and buttons under 44 px tall; a header with none is a problem too."""
    if not targets:
        return ["no link or button in the header"]
    return [
        f'header target "{label}" is {height}px tall (under {TAP_TARGET}px)'
        for label, height in targets
        if height < TAP_TARGET
    ]


def _english_in(text: str) -> list[str]:
    found = []
    for match in ENGLISH_WORDS.finditer(text):
        start = max(match.start() - 30, 0)
        found.append(f'English "{match.group(0)}" in "…{text[start : match.end() + 30]}…"')
    return found[:5]
