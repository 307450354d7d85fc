"""Text from the linted tree (file names, tags, messages quoting them) made safe to show.

A file name may hold terminal escape sequences (``\\x1b[2J``), bidi controls that reorder what a
reviewer sees (U+202E), or bytes that are not UTF-8 (Python hands them over as lone surrogates,
which no UTF-8 output can encode). `printable` escapes all of these for people (`printable_lines`
keeps line breaks: multi-line text, XML); `utf8_safe` only makes a JSON document's strings encodable,
for machine formats; `html_text` is `printable` text
escaped for HTML, `markdown_text` for Markdown.
"""

from __future__ import annotations

import html
import re
from typing import Any

# C0 and C1 controls, DEL, bidi marks/embeddings/overrides/isolates, line/paragraph separators
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# what `printable` escapes, but tabs and line breaks (multi-line XML text), and what XML 1.0 forbids (U+FFFE, U+FFFF)
_UNSAFE_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                         "\ud800-\udfff\ufffe\uffff]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape): show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control, bidi and undecodable characters written as ``\\x1b``, ``\\u202e``, ``\\xff``."""
    return _UNSAFE.sub(_escaped, text)


def printable_lines(text: str) -> str:
    """`printable`, keeping tabs and line breaks: text that is valid XML 1.0 (JUnit reports) and safe to show."""
    return _UNSAFE_XML.sub(_escaped, text)


def utf8_safe(value: Any) -> Any:
    """A JSON-ready value whose strings (keys included) have no lone surrogates (escaped as ``\\xff``)."""
    if isinstance(value, str):
        return _SURROGATE.sub(_escaped, value)
    if isinstance(value, dict):
        return {utf8_safe(k): utf8_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [utf8_safe(v) for v in value]
    return value


def html_text(text: object) -> str:
    """`printable` text escaped for HTML element content and quoted attributes; ``://`` is written
    as a character reference (it shows the same), so a report page holds no URL of any kind."""
    return html.escape(printable(str(text)), quote=True).replace("://", "&#58;//")


_MARKDOWN = re.compile(r"([\\`*_\[\]|~>])")  # the text never starts a line: no list or heading marks


def markdown_text(text: object) -> str:
    """`printable` text that Markdown shows as written: markup characters backslash-escaped, ``<``
    and ``&`` as entities (no raw HTML), so a run named ``a|b`` cannot break a table."""
    return _MARKDOWN.sub(r"\\\1", printable(str(text)).replace("&", "&amp;").replace("<", "&lt;"))
