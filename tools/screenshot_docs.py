"""Check the built docs in a real browser: headless Chromium screenshots and image counts.

Builds the site (``mkdocs build --strict``, unless ``--no-build``), serves ``site/`` on a free
localhost port, opens the landing page and one tutorial page in headless Chromium (Debian's
``chromium`` package: ``apt-get install chromium``) and writes a screenshot of each. It also
counts the images each page of the built site carries (``<img>`` tags, inline PNGs
included), so a tutorial rendered without its figures shows up as a 0. Not part of the test
run; a maintainer runs it after changing the docs::

    python tools/screenshot_docs.py [--out docs/img/screenshots] [--no-build]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
PAGES = {  # screenshot -> (page, window height in pixels: the tutorial's whole page)
    "landing.png": ("index.html", 1800),
    "tutorial.png": ("tutorials/05_plan_your_next_run/index.html", 3300),
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Flags for a closed network and a root user (no sandbox), each start from an empty profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(
        "error: no Chromium found; install it with `apt-get install chromium` (Debian/Ubuntu)"
    )


def image_counts(site: Path) -> dict[str, int]:
    """Page (relative path) -> number of ``<img`` tags, for every HTML page of the site."""
    counts = {}
    for page in sorted(site.rglob("index.html")):
        html = page.read_text(encoding="utf-8", errors="replace")
        counts[str(page.parent.relative_to(site)) or "."] = len(re.findall(r"<img\b", html))
    return counts


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def screenshot(browser: str, url: str, path: Path, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            "--virtual-time-budget=8000",  # let the page's scripts (search, MathJax) settle
            f"--screenshot={path}",
            url,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0 or not path.is_file():
        raise SystemExit(f"error: Chromium failed on {url}:\n{done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "screenshots")
    parser.add_argument("--no-build", action="store_true", help="use the existing site/")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)

    browser = find_browser()
    if not args.no_build:
        mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(SITE)]
        subprocess.run(mkdocs, cwd=ROOT, check=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    if not (SITE / "index.html").is_file():
        raise SystemExit(f"error: no built site in {SITE}; run without --no-build")

    counts = image_counts(SITE)
    print("images per page of the built site:")
    for page, n in counts.items():
        if page.startswith("tutorials") or page == ".":
            print(f"  {n:3d}  {page}")

    args.out.mkdir(parents=True, exist_ok=True)
    server, port = serve(SITE)
    try:
        for name, (page, height) in PAGES.items():
            url = f"http://127.0.0.1:{port}/{page}"
            screenshot(browser, url, args.out / name, (args.width, height))
            print(f"screenshot of {page}: {args.out / name}")
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
