"""Which security headers every gateway answer carries (set by `gateway.adapters`).

- Content-Security-Policy by path: the console (`/console/`) runs only its own script and
  stylesheet (no inline code; it needs none); `/docs` (Swagger UI, loaded from its CDN) gets
  the CDN plus the hashes of the page's own inline scripts, computed from the page itself; every
  other answer (API JSON, feeds) allows nothing at all. An answer that brings its own policy
  keeps it (ingest's file answers are sandboxed: `default-src 'none'; sandbox`).
- Framing is refused (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), `nosniff`,
  `Referrer-Policy: strict-origin-when-cross-origin`.
- `Strict-Transport-Security` only in production (a dev or test gateway on plain http must not
  teach a browser to refuse http for the host).

None of these headers restrict who may read the public API: portal front ends on other origins
are unaffected (CSP governs documents, not the JSON a page fetches).
"""

from __future__ import annotations

import base64
import hashlib
import re

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    "default-src 'none'; script-src {cdn} {hashes}; style-src {cdn} 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: bytes) -> str:
    """The docs page's CSP: its CDN and exactly the inline scripts it contains."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return DOCS_CSP.format(cdn=DOCS_CDN, hashes=hashes).replace("  ", " ")


def policy_for(path: str) -> str:
    if path == "/console" or path.startswith("/console/"):
        return CONSOLE_CSP
    return API_CSP


def fixed_headers(production: bool) -> dict[str, str]:
    """The headers every answer gets whatever its path; HSTS only in production."""
    fixed = {
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if production:
        fixed["Strict-Transport-Security"] = HSTS
    return fixed
