"""Which link targets may become an `href`: http, https and mailto, or a path on this portal.

`javascript:`, `data:`, `vbscript:` and every other scheme run code or open something other
than a web page when clicked, so catalog documents and template outputs may not use them, and
pages never render them as links (defence in depth beside the Content-Security-Policy).
"""

from __future__ import annotations

import re

LINK_SCHEMES = ("http", "https", "mailto")
# Browsers drop leading C0 controls and spaces and ignore tabs/newlines anywhere in a URL
# ("java\tscript:" is "javascript:"), so the scheme is read the way they read it.
_IGNORED = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def link_scheme(url: str) -> str:
    """The scheme a browser would see in `url`, lower case; "" for a relative URL."""
    cleaned = _IGNORED.sub("", url).lstrip("".join(chr(c) for c in range(0x21)))
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else ""


def is_safe_link(url: object, *, allow_relative: bool = False) -> bool:
    """An absolute http(s)/mailto URL with something after the scheme, or (when allowed) a
    path on this site: starts with one '/', never '//' or '/\\' (those leave the site)."""
    if not isinstance(url, str) or not url.strip():
        return False
    scheme = link_scheme(url)
    if scheme:
        return scheme in LINK_SCHEMES
    if not allow_relative:
        return False
    cleaned = _IGNORED.sub("", url).strip()
    return cleaned.startswith("/") and not cleaned.startswith(("//", "/\\"))


def safe_href(url: object) -> str:
    """`url` when it may be a link's href (absolute http/https/mailto or a path on this
    portal), else ""; templates render the title without a link then."""
    return str(url) if is_safe_link(url, allow_relative=True) else ""
