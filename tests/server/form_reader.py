"""What a browser would send for the report form of a page."""

from __future__ import annotations

from html.parser import HTMLParser


class FormReader(HTMLParser):
    """The values a browser would send for the report form of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: dict[str, object] = {}
        self._in_form = self._in_template = False
        self._textarea = self._select = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "report-form" in (a.get("class") or ""):
            self._in_form = True
        elif tag == "template":
            self._in_template = True
        if not self._in_form or self._in_template:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.setdefault(name, []).append(a.get("value", "y"))
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "template":
            self._in_template = False
        elif tag == "textarea" and self._textarea:
            self.fields[self._textarea] = self.fields[self._textarea].lstrip("\r\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
