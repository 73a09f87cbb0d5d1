"""The consumer scan page and the printable label (docs/scan-page.md, docs/labels.md).

- :mod:`.routes`: ``GET /c/{code}``, the label routes, the page's own proof-check script;
- :mod:`.view`: what the page shows, as display text (the template's view model);
- :mod:`.words`: its words in Chinese and English;
- :mod:`.chart`: the temperature chart (inline SVG).
"""

from .routes import LangQuery, label_response, router, scan_page
from .view import code_link, hop_detail, replacement_codes, scan_view
from .words import LANGUAGES, TEXTS, VOCABULARY, pick_language, when_text, word

__all__ = [
    "LANGUAGES",
    "TEXTS",
    "VOCABULARY",
    "LangQuery",
    "code_link",
    "hop_detail",
    "label_response",
    "pick_language",
    "replacement_codes",
    "router",
    "scan_page",
    "scan_view",
    "when_text",
    "word",
]
