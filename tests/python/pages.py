"""Pages for the fetch comparison (tests/e2e/catalog.rs): a small HTTP server
on 127.0.0.1, on the port given, stopping when its stdin closes. It serves
a robots.txt that disallows /private/, an HTML page, plain text, JSON, a
long text, redirects (one into /private/), a 404; with a second argument,
`forbidden`, its robots.txt answers 403 instead."""

import http.server
import sys
import threading

HTML = """<!DOCTYPE html>
<html><head><title>A page</title><style>p { color: red }</style></head>
<body><h1>Heading one</h1><p>A paragraph with <a href="/plain.txt">a link</a> and <strong>bold</strong> text.</p>
<ul><li>first</li><li>second</li></ul><h2>Heading two</h2><p>The end.</p></body></html>"""

ARTICLE = """<!DOCTYPE html>
<html><head><title>News</title><script>var tracking = 1;</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></nav>
<header><div class="logo">The Example Times</div></header>
<aside class="sidebar"><h3>Popular</h3><ul><li><a href="/a">Another story</a></li><li><a href="/b">A third</a></li></ul></aside>
<main><article><h1>A long article</h1>
<p>The first paragraph of the article carries enough words to look like the body of a real story, which is what
readability looks for when it scores the blocks of a page and keeps the best one.</p>
<p>The second paragraph goes on, with <em>emphasis</em>, a <code>code span</code> and a
<a href="https://example.com/source">link to a source</a>, so that the converter has inline markup to render.</p>
<blockquote>A quotation, set apart.</blockquote>
<p>A third paragraph ends the story with a closing thought and yet more words, commas, and full stops.</p>
</article></main>
<footer>Copyright 2026, The Example Times. All rights reserved.</footer></body></html>"""

PAGES = {
    "/article.html": (200, "text/html", ARTICLE),
    "/robots.txt": (200, "text/plain", "# comment line\nUser-agent: *\nDisallow: /private/\n"),
    "/page.html": (200, "text/html; charset=utf-8", HTML),
    "/plain.txt": (200, "text/plain; charset=utf-8", "Plain text, with ünïcode and one line.\n"),
    "/data.json": (200, "application/json", '{"answer": 42, "list": [1, 2, 3]}'),
    "/long.txt": (200, "text/plain", "".join(f"line {i:05d} of a long text\n" for i in range(1200))),
    "/private/secret.txt": (200, "text/plain", "robots.txt says no"),
    "/empty.html": (200, "text/html", "<html><body></body></html>"),
}

REDIRECTS = {"/moved": "/plain.txt", "/into-private": "/private/secret.txt", "/loop": "/loop"}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if FORBIDDEN and self.path == "/robots.txt":
            self.send_response(403)
            self.end_headers()
            return
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.end_headers()
            return
        page = PAGES.get(self.path)
        if page is None:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        status, content_type, body = page
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


FORBIDDEN = sys.argv[2:] == ["forbidden"]
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
server.shutdown()
