"""A minimal headless-Chromium client (DevTools protocol over --remote-debugging-pipe, standard library only)
used by tests/test_book.py to check the built book, and by hand to take screenshots:

    python tools/book_browser.py _book/_build/html/index.html index.png [more.html more.png ...]

`inspect_page(url)` loads a page, waits for the load event and for MathJax to finish typesetting, and
returns what the DOM holds (navigation links, math elements, images and whether they loaded) plus every
network request the page made and every request that failed.
"""
import base64, fcntl, json, os, select, shutil, subprocess, sys, tempfile, time
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags that work on this project's machines (see .library notes): no sandbox as root, no GPU, and no
# background traffic to Google's hosts; every host name resolves to nothing, so a page that needed the
# network would show it (its requests are recorded and fail).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND"]

# Runs in the page: waits for MathJax (if the page loads it), then describes the DOM.
PAGE_STATE_JS = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const main = document.querySelector('main') || document.body;
  const mathEls = [...main.querySelectorAll('.math')];
  const text = [...main.querySelectorAll('p, li, h1, h2, h3, h4, td, dd, dt, blockquote')]
      .map(e => e.innerText).join('\n');
  return {
    title: document.title,
    mathjax_loaded: !!(window.MathJax && MathJax.version),
    mathjax_version: window.MathJax && MathJax.version || null,
    nav: [...document.querySelectorAll('nav.bd-docs-nav a.reference.internal')]
        .map(a => ({text: a.textContent.trim(), href: a.getAttribute('href')})),
    math_elements: mathEls.length,
    math_rendered: mathEls.filter(e => e.querySelector('mjx-container')).length,
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mjx_errors: document.querySelectorAll('mjx-merror').length,
    raw_dollars: (text.match(/\$\$/g) || []).length,
    images: [...main.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'), complete: i.complete,
        width: i.naturalWidth, height: i.naturalHeight})),
    headings: [...main.querySelectorAll('h1')].map(h => h.textContent.replace('#', '').trim()),
  };
})()
"""


class Chromium:
    "One headless Chromium driven over the DevTools pipe (fd 3: commands in, fd 4: replies out)."

    def __init__(self, binary=CHROMIUM, width=1280, height=900, timeout=60):
        self.timeout, self.size = timeout, (width, height)
        self.profile = tempfile.mkdtemp(prefix="hierfact-chromium-")   # fresh --user-data-dir
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        def child_fds():   # move the pipe ends to fds 3 and 4 in the child (Chromium's pipe protocol)
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3); os.dup2(b, 4)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
            close_fds=False, preexec_fn=child_fds)
        os.close(cmd_r); os.close(out_w)
        self._buf, self._id, self.events = b"", 0, []

    # -- protocol ------------------------------------------------------------------------------
    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0: raise TimeoutError("no reply from Chromium")
            r, _, _ = select.select([self._out_r], [], [], left)
            if not r: continue
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk: raise RuntimeError(f"Chromium exited:\n{self.log()[-2000:]}")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=None):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session: msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session=None, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        for i, e in enumerate(self.events):
            if e.get("method") == method and (session is None or e.get("sessionId") == session):
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method and (session is None or m.get("sessionId") == session): return m
            self.events.append(m)

    # -- pages ---------------------------------------------------------------------------------
    def open(self, url):
        "A new tab showing url after its load event; returns its session id."
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", {"width": self.size[0], "height": self.size[1],
                  "deviceScaleFactor": 1, "mobile": False}, s)
        for domain in ("Page", "Network", "Runtime"): self.call(f"{domain}.enable", {}, s)
        self.events = [e for e in self.events if e.get("sessionId") != s]
        nav = self.call("Page.navigate", {"url": url}, s)
        if nav.get("errorText"): raise RuntimeError(f"cannot open {url}: {nav['errorText']}")
        self.wait_event("Page.loadEventFired", s)
        return s

    def evaluate(self, expr, session):
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True}, session)
        if "exceptionDetails" in r: raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def requests(self, session):
        "(every URL the page requested, [(url, error) for each failed request]) so far."
        evs = [e for e in self.events if e.get("sessionId") == session]
        urls = [e["params"]["request"]["url"] for e in evs if e.get("method") == "Network.requestWillBeSent"]
        ids = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in evs
               if e.get("method") == "Network.requestWillBeSent"}
        failed = [(ids.get(e["params"]["requestId"], "?"), e["params"].get("errorText"))
                  for e in evs if e.get("method") == "Network.loadingFailed"]
        return urls, failed

    def screenshot(self, session, path, full_page=False):
        params = {"format": "png"}
        if full_page: params["captureBeyondViewport"] = True
        Path(path).write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params, session)["data"]))

    def inspect_page(self, url, screenshot=None):
        s = self.open(url)
        state = self.evaluate(PAGE_STATE_JS, s)
        time.sleep(0.3)                                   # late font/image requests land in the event log
        self.call("Runtime.evaluate", {"expression": "1"}, s)
        state["requests"], state["failed"] = self.requests(s)
        if screenshot: self.screenshot(s, screenshot)
        return state

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self):
        try:
            try: self.call("Browser.close", timeout=5)
            except Exception: pass
            try: self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        finally:
            for fd in (self._cmd_w, self._out_r):
                try: os.close(fd)
                except OSError: pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self): return self
    def __exit__(self, *exc): self.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2: sys.exit(__doc__)
    with Chromium() as c:
        for page, png in zip(args[::2], args[1::2]):
            st = c.inspect_page(Path(page).resolve().as_uri(), screenshot=png)
            st.pop("requests")
            print(json.dumps({k: v for k, v in st.items() if k != "images"} | {"images": len(st["images"])}))
