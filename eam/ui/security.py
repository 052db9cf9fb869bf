"""What keeps the pages safe in a browser.

- Cross-site request forgery: every form carries a token bound to a cookie (Litestar's
  double-submit ``CSRFMiddleware``, HMAC-signed with a key derived from EAM's secrets); a change
  without it is refused (OWASP CSRF Prevention Cheat Sheet).
- Content-Security-Policy (CSP Level 3): scripts, styles and images from EAM only, no inline
  script or style, no framing, forms post only to EAM.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Response
from litestar.config.csrf import CSRFConfig

from eam.core.settings import Settings

CSRF_COOKIE = "eam_csrf"
CSRF_HEADER = "x-csrftoken"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def csrf_config(settings: Settings) -> CSRFConfig:
    """The CSRF key is derived (HKDF-SHA256, RFC 5869) from the national-number key, a secret
    production must set: no further secret to configure, and none that is public."""
    secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"eam csrf tokens").derive(
        settings.national_number_key.encode()
    )
    return CSRFConfig(
        secret=secret.hex(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.is_production,
        cookie_httponly=True,
        cookie_samesite="lax",
    )


def secured(response: Response) -> Response:
    """The security headers on ``response``. Exception handlers' responses (error pages, the
    redirect to sign-in) pass no ``after_request`` hook, so they call this themselves."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def add_security_headers(response: Response) -> Response:
    return secured(response)
