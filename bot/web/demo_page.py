"""The demo page: a plain page of the clinic, using only known facts (the clinic profile and domain/facts.yml),
with the chat widget on it (one tag)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from bot.clinic.profile import ClinicProfile, load_profile
from bot.responses import facts
from bot.web.dependencies import Bundle, Settings
from bot.web.settings import WebSettings

router = APIRouter(tags=["demo page"])

PAGE = """<!doctype html>
<html lang="en-NZ">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} | {address}</title>
<link rel="icon" href="data:,">
<style>
  body {{ margin: 0; font: 17px/1.6 Georgia, "Times New Roman", serif; color: #1d2424; background: #fbfaf7; }}
  header, main, footer {{ max-width: 46rem; margin: 0 auto; padding: 1.5rem 1.25rem; }}
  header {{ border-bottom: 1px solid #c9d1d0; }}
  header p {{ margin: 0; color: #3f4a4a; }}
  h1 {{ margin: 0 0 .25rem; font-size: 2rem; color: #0b5c56; }}
  a {{ color: #0b5c56; }}
  .cta {{ padding: 1rem 1.25rem; border-left: 4px solid #0b5c56; background: #eef3f2; }}
  .notice {{ padding: .75rem 1rem; border: 2px solid #8a1c1c; color: #8a1c1c; }}
  footer {{ font-size: .9rem; color: #3f4a4a; padding-bottom: 6rem; }}
</style>
</head>
<body>
<header>
  <h1>{name}</h1>
  <p>{address}</p>
</header>
<main>
  {notice}
  <h2>Acupuncture for injuries</h2>
  <p>We treat injuries such as gluteal (buttock) muscle injuries with acupuncture, and where it helps with
     cupping or moxibustion.</p>
  <p>You do not need a referral from your GP or physiotherapist to see us, and acupuncture does not stop you
     seeing other health providers at the same time.</p>
  <p class="cta"><strong>Free 15-minute consultation.</strong> Book a complimentary 15-minute consultation to talk
     about whether acupuncture is right for you.</p>
  <h2>Questions?</h2>
  <p>Ask our automated assistant: use the <strong>Chat with us</strong> button at the bottom right of the page.
     It answers questions about acupuncture for injuries, ACC and booking. It is not medical advice: in an
     emergency call {emergency_number}.</p>
</main>
<footer>
  <p>{name}, {address}.</p>
  <p>This is the demo page of the chat widget.</p>
</footer>
<script src="{loader_url}" defer data-title="{name}"></script>
</body>
</html>
"""


def render_demo_page(profile: ClinicProfile, loader_url: str = "/widget.js", widget_available: bool = True) -> str:
    """The page's HTML; every value is escaped."""
    notice = (
        ""
        if widget_available
        else '<p class="notice" role="alert">The chat widget is not available: its files are not installed '
        "(run <code>npm ci</code> in web_widget).</p>"
    )
    return PAGE.format(
        name=escape(profile.name),
        address=escape(profile.address),
        emergency_number=escape(facts()["emergency_number"]),
        loader_url=escape(loader_url),
        notice=notice,
    )


def content_security_policy(settings: WebSettings) -> str:
    """The demo page's CSP: its own scripts, and connections to the Rasa server browsers reach."""
    rasa = settings.browser_rasa_url
    websocket = rasa.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return (
        "default-src 'self'; "
        f"connect-src 'self' {rasa} {websocket}; "
        "img-src 'self' https: data:; "
        "style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


@router.get("/", response_class=HTMLResponse)
def demo_page(settings: Settings, bundle: Bundle) -> HTMLResponse:
    """A page of the clinic with the widget on it."""
    html = render_demo_page(load_profile(), "/widget.js", widget_available=bundle is not None)
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": content_security_policy(settings),
            "X-Frame-Options": "DENY",
        },
    )
