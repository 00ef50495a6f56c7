"""A person at a real browser (Debian's chromium through its chromedriver, driven by Selenium) on
the demo's chat page: they click, type and pick files, and check what they would check by eye.

Nothing is downloaded at run time: the chromedriver path is given, so Selenium Manager never runs
(SE_OFFLINE=true besides). Without chromium the tests are skipped with the reason; `.ci/run`
installs it with apt-get where it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT = 10.0  # the bot answers in well under a second; this only bounds a failure


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install chromium chromium-driver; .ci/run does it as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (python3 dev.py check installs the dev extra)"
    return None


# The checks a person makes by eye, in the page: is the newest message (and its buttons) on
# screen, and is any word split across lines or any bubble's time wrapped?
IN_VIEW_JS = """
const log = document.getElementById("log");
const rows = log.querySelectorAll(".row");
if (!rows.length) return "no messages";
const images = [...document.images].filter((i) => !i.complete);
if (images.length) return "images still loading";
const row = rows[rows.length - 1], box = log.getBoundingClientRect(), r = row.getBoundingClientRect();
const bottom = Math.min(box.bottom, window.innerHeight);
if (r.bottom > bottom + 1) return `the newest message ends ${Math.round(r.bottom - bottom)} px below the fold`;
if (r.height <= box.height && r.top < box.top - 1) return `the newest message starts ${Math.round(box.top - r.top)} px above the view`;
for (const b of row.querySelectorAll("button")) {
  const br = b.getBoundingClientRect();
  if (br.bottom > bottom + 1 || br.right > window.innerWidth + 1) return `its button "${b.textContent}" is off screen`;
}
return "";
"""
READY_JS = """
if (document.body.classList.contains("side")) return document.querySelectorAll("iframe").length === 2;
return document.getElementById("inputbar").hidden === false || document.getElementById("startbar").hidden === false;
"""
BROKEN_WORDS_JS = """
const found = [];
for (const bubble of document.querySelectorAll(".bubble")) {
  const meta = bubble.querySelector(".meta");
  if (meta && meta.getClientRects().length > 1) found.push("time wrapped: " + meta.textContent);
  const walker = document.createTreeWalker(bubble, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/[^\\s-]+/g)) {  // after a hyphen a line may break
      if (match[0].length > 24) continue;           // a long URL may wrap, as in Telegram
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (tops.size > 1) found.push(`"${match[0]}" broken across lines`);
    }
  }
}
return found;
"""


@dataclass
class DemoProcess:
    """`python -m bot demo` in its own directory and port, as a newcomer starts it."""

    port: int
    workdir: Path
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @classmethod
    def start(cls, workdir: Path, port: int, database_url: str | None = None, *, reset: bool = False) -> DemoProcess:
        """Started and ready; `database_url` instead of the demo's own SQLite file in workdir/data."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "BOT_", "STAFF_", "ADMIN_"))}
        env["PYTHONPATH"] = str(ROOT)
        if database_url is not None:
            env["DATABASE_URL"] = database_url
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--port", str(port), *(["--reset"] if reset else [])],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        demo = cls(port, workdir, process)
        assert process.stdout is not None
        for line in process.stdout:  # blocks until the demo says it is ready (or dies)
            demo.output.append(line)
            if line.startswith("Press Ctrl-C"):
                return demo
        raise AssertionError("the demo did not start:\n" + "".join(demo.output))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Person:
    """One browser window; each tab is a chat page. Keeps a screenshot of every step."""

    def __init__(self, width: int, height: int, shots: Path) -> None:
        os.environ["SE_OFFLINE"] = "true"
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            options.add_argument(argument)
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.width, self.height = width, height
        self.shots = shots
        self.steps: list[tuple[str, bytes]] = []
        self.tabs: dict[str, str] = {}
        self.console: list[str] = []

    def _fit(self) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": self.width < 600},
        )

    def open(self, name: str, url: str, ready: str = READY_JS) -> None:
        """A new tab (the first one reuses the window) showing `url`, once `ready` (JS) is true."""
        if self.tabs:
            self.driver.switch_to.new_window("tab")
        self.tabs[name] = self.driver.current_window_handle
        self._fit()
        self.driver.get(url)
        self.wait(lambda: self.js(ready), "the page to load")

    def tab(self, name: str) -> None:
        self.driver.switch_to.window(self.tabs[name])

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, ready: Callable[[], Any], what: str, timeout: float = STEP_TIMEOUT) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _: ready())
        except Exception as exc:
            raise AssertionError(f"waited {timeout}s for {what}: {self.last_text()[-400:]!r}") from exc

    # -- what a person does ------------------------------------------------------------------
    def _mark(self) -> None:
        """Remembers the newest message before an action: the answer is whatever comes after it."""
        self.js("const r = document.querySelectorAll('#log .row'); window.__before = r[r.length - 1] || null;")

    def _answered(self) -> bool:
        return bool(
            self.js(
                "const r = document.querySelectorAll('#log .row'); return (r[r.length - 1] || null) !== window.__before;"
            )
        )

    def _count(self) -> int:
        return int(self.js("return document.querySelectorAll('#log .row').length"))

    def click(self, text: str, where: str = ".inline-kb button, #replykb button, #startbar button") -> None:
        """Clicks the newest button labelled `text` (looked up in one go in the page, so an edit
        replacing the message meanwhile cannot hand back a stale button)."""
        find = (
            "const found = [...document.querySelectorAll(arguments[0])]"
            ".filter((b) => b.textContent.trim() === arguments[1]); return found[found.length - 1] || null;"
        )

        def press() -> bool:
            from selenium.common.exceptions import StaleElementReferenceException

            self._mark()
            button = self.js(find, where, text)
            if button is None:
                return False
            try:
                button.click()
            except StaleElementReferenceException:
                return False
            return True

        self.wait(press, f"a button {text!r}")

    def type(self, text: str) -> None:
        from selenium.webdriver.common.by import By

        self._mark()
        box = self.driver.find_element(By.ID, "text")
        box.send_keys(text)
        self.driver.find_element(By.ID, "send").click()

    def attach_photo(self, path: Path) -> None:
        """📎, then Photo, then the file in the picker (a file input, as the browser hands it over)."""
        from selenium.webdriver.common.by import By

        self._mark()
        self.driver.find_element(By.ID, "attach").click()
        self.wait(lambda: self.js("return document.getElementById('attachmenu').classList.contains('open')"), "📎 menu")
        self.driver.find_element(By.ID, "pickphoto").send_keys(str(path))
        self.js("document.getElementById('attachmenu').classList.remove('open')")

    def share_number(self) -> str:
        """📱 Share my number, then Share with the number the page offers; returns it."""
        from selenium.webdriver.common.by import By

        self.click("📱 Share my number", "#replykb button")
        self.wait(
            lambda: self.js("return document.getElementById('sharebox').classList.contains('open')"), "the dialog"
        )
        number = str(self.driver.find_element(By.ID, "sharephone").get_attribute("value"))
        self._mark()
        self.driver.find_element(By.ID, "shareok").click()
        return number

    def menu(self, command: str) -> None:
        """The commands menu beside the input field."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.ID, "menubtn").click()
        self.click(command, "#commands button b")

    # -- what a person checks ----------------------------------------------------------------
    def text_of_log(self) -> str:
        return str(self.js("const l = document.getElementById('log'); return l ? l.innerText : ''"))

    def last_text(self) -> str:
        return str(
            self.js("const r = document.querySelectorAll('#log .row'); return r.length ? r[r.length-1].innerText : ''")
        )

    def expect(self, step: str, *needles: str) -> str:
        """Waits for the newest message to say all `needles`, then checks it is in view, that no
        word is broken and nothing went to the console; keeps a screenshot of the step."""
        self.wait(
            lambda: self._answered() and all(n in self.last_text() for n in needles), f"{needles!r} at step {step!r}"
        )
        problem = ""

        def in_view() -> bool:
            nonlocal problem
            problem = str(self.js(IN_VIEW_JS))
            return problem == ""

        try:
            self.wait(in_view, "the newest message in view", timeout=3.0)
        except AssertionError:
            raise AssertionError(f"step {step!r}: {problem}") from None
        broken = self.js(BROKEN_WORDS_JS)
        assert not broken, f"step {step!r}: {broken}"
        self.check_console(step)
        self.steps.append((step, self.driver.get_screenshot_as_png()))
        return self.last_text()

    def check_console(self, step: str) -> None:
        errors = [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"step {step!r}: console errors {errors}"

    def save_screenshots(self) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        for n, (step, png) in enumerate(self.steps, start=1):
            name = "".join(c if c.isalnum() else "-" for c in step)[:40]
            (self.shots / f"{n:02d}-{name}.png").write_bytes(png)
        for name, handle in self.tabs.items():
            self.driver.switch_to.window(handle)
            self.driver.save_screenshot(str(self.shots / f"failed-{name}.png"))
        return self.shots

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoProcess]:
    from tests.factories import free_port

    workdir = tmp_path / "demo"
    workdir.mkdir()
    process = DemoProcess.start(workdir, free_port())
    yield process
    process.stop()


def screenshot_dir(name: str) -> Path:
    base = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "test-screenshots"))
    target = base / name
    if target.exists():
        shutil.rmtree(target)
    return target


__all__ = ["DemoProcess", "Person", "browser_missing", "demo", "screenshot_dir"]
