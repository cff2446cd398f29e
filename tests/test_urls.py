"""Ingesting http(s) URLs from a local server: content type, size cap, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.errors import IngestError
from engine.knowledge.sources import collect, fetch_url
from engine.knowledge.web import LOCAL_TEST_SERVERS

PAGES = {
    "/page": ("text/html; charset=utf-8",
              b"<html><title>Lighthouse</title><body><p>Status page.</p></body></html>"),
    "/notes.md": ("text/markdown", b"# Notes\n\nPlain notes."),
    "/file.pdf": ("application/pdf", b"%PDF-1.4"),
    "/huge": ("text/plain", b"x" * (6 * 1024 * 1024)),
}


class Quiet(BaseHTTPRequestHandler):
    """A test server's handler: `send` a whole answer, log nothing."""

    def send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Pages(Quiet):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path not in PAGES:
            self.send_error(404)
            return
        self.send(200, *PAGES[self.path])


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_html_page_becomes_a_document_with_its_url_as_id(site: str) -> None:
    doc = fetch_url(f"{site}/page", LOCAL_TEST_SERVERS)
    assert (doc.doc_id, doc.title, doc.url) == (f"{site}/page", "Lighthouse", f"{site}/page")
    assert "Status page." in doc.text


def test_markdown_urls_are_parsed_as_markdown(site: str) -> None:
    assert fetch_url(f"{site}/notes.md", LOCAL_TEST_SERVERS).title == "Notes"


@pytest.mark.parametrize("path, message", [
    ("/file.pdf", "content type application/pdf"),
    ("/huge", "larger than 5 MB"),
    ("/missing", "HTTP 404"),
])
def test_bad_urls_are_refused_with_a_reason(site: str, path: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        fetch_url(f"{site}{path}", LOCAL_TEST_SERVERS)


def test_an_unreachable_url_is_an_error_not_a_crash() -> None:
    collected = collect(["http://127.0.0.1:9/nothing"], LOCAL_TEST_SERVERS)
    assert collected.documents == [] and "unreachable" in collected.errors[0]
