"""report.html as a person sees it: rendered by a real headless Chromium (Debian's `chromium`,
installed here when missing and we are root), driven over the DevTools protocol on a pipe (no
extra Python package): every figure decodes, the overview is on the first screen, nothing is
wider than the page, nothing comes from the network, and text from jobs stays text.

`python tests/test_report_page.py REPORT.html SHOT.png` screenshots the first screen of any
report and prints what the test checks."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

WIDTH, HEIGHT = 1400, 900
SCRIPT = "<script>window.pwned = 1</script>"

# Runs in the page once it has loaded: what the test asserts, as one JSON-able object.
CHECKS = """(async () => {
  const images = [...document.images];
  await Promise.all(images.map((i) => i.decode().catch(() => null)));
  const width = window.innerWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o !== "visible" && p.getBoundingClientRect().right <= width + 0.5) return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
    .map((el) => `${el.tagName}.${el.className} right=${el.getBoundingClientRect().right}`);
  const overview = document.querySelector("#overview ~ .grid img");
  const box = overview ? overview.getBoundingClientRect() : null;
  return {
    images: images.length,
    undecoded: images.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.alt),
    overview: box && {top: box.top, bottom: box.bottom},
    innerWidth: width,
    innerHeight: window.innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    wide: wide.slice(0, 10),
    network: performance.getEntriesByType("resource").map((e) => e.name)
      .filter((n) => !n.startsWith("data:")),
    pwned: window.pwned === undefined ? null : String(window.pwned),
    scripts: document.scripts.length,
  };
})()"""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium: installed with apt-get when missing and we are root, else skipped."""
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("report page test needs Debian's chromium: not installed, and not root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            pytest.skip(f"report page test: `{' '.join(command)}` failed: {done.stderr[-300:]}")
    return find_chromium() or pytest.skip("report page test: apt installed no chromium")


class Browser:
    """Chromium over --remote-debugging-pipe: JSON messages ending in NUL, on fds 3 and 4."""

    def __init__(self, binary: str, profile: str):
        to_child, self._to = os.pipe()
        self._from, from_child = os.pipe()

        def fds() -> None:  # in the child: its end of each pipe as 3 (read) and 4 (write)
            os.dup2(to_child, 100)
            os.dup2(from_child, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        flags += ["--no-first-run", "--remote-debugging-pipe", f"--user-data-dir={profile}"]
        flags += [f"--window-size={WIDTH},{HEIGHT}", "about:blank"]
        self.process = subprocess.Popen(
            [binary, *flags],
            pass_fds=(3, 4),
            preexec_fn=fds,  # one child, started before any thread of ours
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self.events = b"", 0, []

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            seen = next((e for e in self.events if e.get("method") == event), None)
            if seen:
                return seen
            self.events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to)
        os.close(self._from)


def inspect_page(binary: str, page: Path, screenshot: Path) -> dict:
    """Load `page` in a WIDTH x HEIGHT window, run CHECKS in it, save the first screen."""
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(binary, profile)
        try:
            target = browser.send("Target.createTarget", url="about:blank")["targetId"]
            session = browser.send("Target.attachToTarget", targetId=target, flatten=True)
            session = session["sessionId"]
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
            browser.send("Page.enable", session)
            browser.send("Page.navigate", session, url=page.resolve().as_uri())
            browser.wait_for("Page.loadEventFired")
            result = browser.send(
                "Runtime.evaluate",
                session,
                expression=CHECKS,
                awaitPromise=True,
                returnByValue=True,
            )
            shot = browser.send("Page.captureScreenshot", session, format="png")
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        finally:
            browser.close()
    if "exceptionDetails" in result:
        raise RuntimeError(result["exceptionDetails"])
    return result["result"]["value"]


@pytest.fixture
def report(tmp_path) -> Path:
    """A fake sweep (dense, wanda at two rates and 2:4, a failed and a missing job) whose
    labels, error and notes carry markup, rendered as a report."""
    from compsafe.report.view.build import build_report
    from compsafe.results.files import JOBS_FILE, RESULTS_FILE
    from test_report import bbq_items, toxicity_items, write_job

    root = tmp_path / "sweep"
    dense = toxicity_items(0.0, 1)
    write_job(root, "dense", "none", 0.0, "unstructured", dense, bbq_items(0.5), 20.0)
    write_job(root, "wanda 30%", "wanda", 0.3, "unstructured", dense, bbq_items(0.5), 22.0)
    worse = [min(1.0, v + 0.3) for v in dense]
    write_job(root, "wanda 50%", "wanda", 0.5, "unstructured", worse, bbq_items(0.9), 40.0)
    write_job(root, "wanda 2:4", "wanda", 0.5, "2:4", dense, bbq_items(0.6), 60.0)
    write_job(root, "magnitude", "magnitude", 0.5, "unstructured", dense, [], 300, "failed")
    (root / JOBS_FILE).write_text(json.dumps(["dense", "wanda 30%", "wanda 50%", "gptq"]))
    for name, section, key, value in (
        ("wanda 50%", "compression", "label", f"wanda 50% {SCRIPT}"),
        ("magnitude", "error", None, f"RuntimeError: {SCRIPT} <img src=x onerror=pwned=2>"),
    ):
        path = root / name / RESULTS_FILE
        record = json.loads(path.read_text())
        if key:
            record[section][key] = value
        else:
            record[section] = value
        path.write_text(json.dumps(record))
    return build_report([root], iterations=100) / "report.html"


def test_untrusted_text_is_escaped(report, tmp_path):
    """Labels, errors and notes from jobs are text in report.html, never markup."""
    from compsafe.report.stats.analysis import analyse
    from compsafe.report.view.render import document

    page = report.read_text()
    assert SCRIPT not in page and "<img src=x" not in page
    assert "wanda 50% &lt;script&gt;window.pwned = 1&lt;/script&gt;" in page
    assert page.count("<script") == 0
    analysis = analyse([report.parent.parent], iterations=20)
    analysis.notes.append(f"bbq: note {SCRIPT}")
    analysis.warnings.append(f"<b onmouseover=alert(1)>mixed</b> {SCRIPT}")
    text = document(analysis, [], None, f"title {SCRIPT}").html(tmp_path)
    assert "<script" not in text and "<b onmouseover" not in text
    assert "note &lt;script&gt;" in text and "&lt;b onmouseover=alert(1)&gt;" in text


def test_report_page_structure(report):
    """report.md: contents with anchors, the overview (figure, sentences, table), findings and a
    section per dimension, figures by dimension; report.html the same, self-contained."""
    md = (report.parent / "report.md").read_text()
    for heading in ("## Overview", "## Findings", "## Degeneration harm", "## Figures"):
        assert heading in md
    assert "- [Overview](#overview)" in md and "(#figures-degeneration-harm)" in md
    assert "- [Failed and missing jobs](#failed-and-missing-jobs)" in md
    assert "![overview](figures/overview.png)" in md
    assert "**Degeneration harm**: RTP toxicity: higher (worse) under wanda 50%" in md
    assert "<details><summary>The overview as a table</summary>" in md
    page = report.read_text()
    assert 'id="figures-degeneration-harm"' in page and 'href="#overview"' in page
    assert "http://" not in page and "https://" not in page
    assert "<details>" in page and 'class="t-worse sig"' in page


@pytest.mark.slow
def test_report_page_in_a_real_browser(chromium, report, tmp_path):
    started = time.monotonic()
    shot = tmp_path / "first-screen.png"
    seen = inspect_page(chromium, report, shot)
    assert seen["images"] >= 5 and seen["undecoded"] == [], seen
    assert seen["overview"] and 0 < seen["overview"]["top"] < seen["innerHeight"], seen
    assert seen["overview"]["bottom"] <= seen["innerHeight"], seen  # all of it on screen one
    assert seen["scrollWidth"] <= seen["innerWidth"] and seen["wide"] == [], seen
    assert seen["network"] == [] and seen["pwned"] is None and seen["scripts"] == 0, seen
    assert shot.stat().st_size > 10_000  # a real screenshot, not a blank page
    assert time.monotonic() - started < 60


if __name__ == "__main__":
    binary = find_chromium() or sys.exit("no chromium on PATH")
    print(json.dumps(inspect_page(binary, Path(sys.argv[1]), Path(sys.argv[2])), indent=1))
