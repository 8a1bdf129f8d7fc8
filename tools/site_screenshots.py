"""Full-page screenshots of every page of the built documentation site, as a reader at 1400 px sees it.

Serves the built site (``site/`` or ``--site DIR``) on a local port, opens each page in Debian's headless
Chromium (``apt-get install chromium``) through the DevTools protocol, and writes a full-height PNG per
page, cut into tiles of ``--tile`` pixels so that each can be looked at (``out/<page>-<n>.png``).  It also
reports, per page, what a reader would notice without looking: the page height, elements wider than
their box with no way to scroll (``overflow`` hidden), images shown below 60 % of their natural width,
and requests that left the machine (a CDN).

Usage (from the repository root, after ``mkdocs build``)::

    .venv/bin/python tools/site_screenshots.py --site site --out /tmp/shots [--only api/fits]

Nothing here is used by the site build or the tests.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tornado import ioloop, websocket
from tornado.httpclient import HTTPClient

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"

#: run in the page: what a reader would notice (wide things that cannot scroll, shrunken figures)
PROBE = r"""
(() => {
  const out = {height: document.documentElement.scrollHeight, clipped: [], shrunk: [], offsite: []};
  for (const el of document.querySelectorAll('.md-content pre, .md-content table, .md-content .jp-OutputArea-output')) {
    let node = el, hidden = false;
    while (node && node !== document.body) {
      const s = getComputedStyle(node);
      if (node.scrollWidth > node.clientWidth + 2 && (s.overflowX === 'hidden' || s.overflowX === 'clip')) { hidden = true; break; }
      node = node.parentElement;
    }
    if (hidden) out.clipped.push(el.tagName + ': ' + (el.textContent || '').trim().slice(0, 60));
  }
  for (const img of document.querySelectorAll('.md-content img')) {
    if (img.naturalWidth && img.clientWidth < 0.6 * img.naturalWidth && img.naturalWidth > 400)
      out.shrunk.push(`${img.getAttribute('alt') || img.src.slice(-40)}: ${img.clientWidth}/${img.naturalWidth}px`);
  }
  for (const e of performance.getEntriesByType('resource'))
    if (!e.name.startsWith(location.origin) && !e.name.startsWith('data:')) out.offsite.push(e.name);
  return JSON.stringify(out);
})()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    port = _free_port()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args, **kwargs):  # no request log on the terminal
            pass

    handler = functools.partial(Quiet, directory=str(site))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


class Browser:
    """One headless Chromium, driven over the DevTools protocol (tornado's websocket client)."""

    def __init__(self, width: int):
        self.width = width
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="hierlm-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars=false", f"--user-data-dir={self.profile}", f"--remote-debugging-port={self.port}",
             f"--window-size={width},1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                targets = json.loads(HTTPClient().fetch(f"http://127.0.0.1:{self.port}/json").body)
                page = next(t for t in targets if t["type"] == "page")
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        else:  # pragma: no cover
            raise RuntimeError("chromium did not start")
        self.loop = ioloop.IOLoop.current()
        self.ws = self.loop.run_sync(lambda: websocket.websocket_connect(page["webSocketDebuggerUrl"],
                                                                         max_message_size=1 << 30))
        self.next_id = 0

    def call(self, method: str, **params):
        async def go():
            self.next_id += 1
            mid = self.next_id
            await self.ws.write_message(json.dumps({"id": mid, "method": method, "params": params}))
            while True:
                msg = json.loads(await self.ws.read_message())
                if msg.get("id") == mid:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return msg.get("result", {})

        return self.loop.run_sync(go, timeout=120)

    def shot(self, url: str, settle: float = 1.5) -> tuple[bytes, dict]:
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=1000, deviceScaleFactor=1,
                  mobile=False)
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        time.sleep(settle)  # fonts, MathJax
        info = json.loads(self.call("Runtime.evaluate", expression=PROBE, returnByValue=True)["result"]["value"])
        height = min(int(info["height"]), 60000)
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=height, deviceScaleFactor=1,
                  mobile=False)
        time.sleep(0.5)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        return base64.b64decode(data), info

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def _tiles(png: bytes, out: Path, stem: str, tile: int) -> list[Path]:
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    paths = []
    for i, top in enumerate(range(0, img.height, tile)):
        p = out / f"{stem}-{i:02d}.png"
        img.crop((0, top, img.width, min(img.height, top + tile))).save(p)
        paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", type=Path, default=Path("site"))
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "hierlm-shots")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--tile", type=int, default=1800)
    ap.add_argument("--only", nargs="*", help="page paths to take (e.g. api/fits notebooks/03_sitka_growth)")
    args = ap.parse_args(argv)
    pages = sorted(str(p.parent.relative_to(args.site)) for p in args.site.rglob("index.html"))
    pages = [p for p in pages if not p.startswith(("assets", "search"))]
    if args.only:
        pages = [p for p in pages if any(p == o.strip("/") or p.startswith(o.strip("/")) for o in args.only)]
    args.out.mkdir(parents=True, exist_ok=True)
    server, port = _serve(args.site)
    browser = Browser(args.width)
    report = {}
    try:
        for page in pages:
            url = f"http://127.0.0.1:{port}/" + ("" if page == "." else page + "/")
            png, info = browser.shot(url)
            stem = "home" if page == "." else page.replace("/", "__")
            tiles = _tiles(png, args.out, stem, args.tile)
            report[page] = {**info, "tiles": len(tiles)}
            flags = [f"clipped {len(info['clipped'])}"] if info["clipped"] else []
            flags += [f"shrunk {len(info['shrunk'])}"] if info["shrunk"] else []
            flags += [f"OFFSITE {len(info['offsite'])}"] if info["offsite"] else []
            print(f"{page:45s} {info['height']:6d} px  {len(tiles)} tiles  {' '.join(flags)}", flush=True)
    finally:
        browser.close()
        server.shutdown()
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(f"screenshots and report.json in {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("NO_AT_BRIDGE", "1")
    main()
