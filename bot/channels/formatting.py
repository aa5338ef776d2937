"""Rasa responses -> Send API `message` objects that fit each platform's limits. Pure functions.

Text longer than the platform allows is split on sentence (or line) boundaries, then on word
boundaries, and only cut mid-word when a single word is longer than the limit. Lengths are counted
in UTF-16 code units, as Meta's clients do, so an emoji counts as two characters.

Buttons: up to 3 with a short enough text become a button template (Messenger default); otherwise,
or when the platform prefers it (Instagram default), quick replies attached to the last text part:
at most 13, titles trimmed to 20 characters. Link buttons cannot be quick replies: their URL is
appended to the text instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.responses import response_text

DEFAULT_PROMPT = response_text("utter_choose_option")  # buttons need a text on Messenger and Instagram


@dataclass(frozen=True)
class Limits:
    """Send API limits of one platform."""

    text: int
    quick_replies: int = 13
    title: int = 20
    template_buttons: int = 3
    template_text: int = 640
    payload: int = 1000
    generic_elements: int = 10
    element_text: int = 80


MESSENGER_LIMITS = Limits(text=2000)
INSTAGRAM_LIMITS = Limits(text=1000)

# End of a sentence (punctuation, optional closing quotes/brackets, then whitespace) or a line break.
_BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*(\s+)|(\n)\s*")
_SPACE = re.compile(r"\s+")


def text_length(text: str) -> int:
    """Length in UTF-16 code units (characters outside the Basic Multilingual Plane count twice)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _fitting_prefix(text: str, limit: int) -> int:
    """The largest n such that text[:n] is at most `limit` UTF-16 code units long."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_points(text: str, fit: int) -> Tuple[int, int]:
    """(end of this part, start of the next) for text that is longer than `fit` characters."""
    window = text[: fit + 1]  # a space right after the limit still makes a boundary
    best: Optional[Tuple[int, int]] = None
    for match in _BOUNDARY.finditer(window):
        end = match.start(1) if match.group(1) is not None else match.start(2)
        if 0 < end <= fit:
            best = (end, match.end())
    if best:
        return best
    for match in _SPACE.finditer(window):
        if 0 < match.start() <= fit:
            best = (match.start(), match.end())
    return best or (fit, fit)


def split_text(text: str, limit: int) -> List[str]:
    """Split `text` into parts of at most `limit` UTF-16 code units, preferring sentence boundaries."""
    if limit < 1:
        raise ValueError("limit must be positive")
    rest = (text or "").strip()
    parts: List[str] = []
    while text_length(rest) > limit:
        end, start = _cut_points(rest, max(_fitting_prefix(rest, limit), 1))
        parts.append(rest[:end].rstrip())
        rest = rest[start:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def trim_title(title: str, limit: int) -> str:
    """`title` shortened to `limit` characters, on a word boundary where possible, with an ellipsis."""
    title = " ".join(title.split())
    if text_length(title) <= limit:
        return title
    head = title[: _fitting_prefix(title, limit - 1)]
    space = head.rfind(" ")
    if space * 3 >= len(head) * 2:  # a word boundary near the end: do not cut a word
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"


def _split_buttons(
    buttons: Sequence[Dict[str, Any]], limits: Limits
) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """(postback buttons, link buttons) as (title, payload/url) pairs; unusable buttons are dropped."""
    postbacks: List[Tuple[str, str]] = []
    links: List[Tuple[str, str]] = []
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = " ".join(str(button.get("title") or "").split())
        url = button.get("url")
        if url or button.get("type") == "web_url":
            if url:
                links.append((title or str(url), str(url)))
            continue
        payload = str(button.get("payload") or "").strip()
        if title and payload and text_length(payload) <= limits.payload:
            postbacks.append((title, payload))
    return postbacks, links


def quick_replies(buttons: Sequence[Dict[str, Any]], limits: Limits) -> List[Dict[str, str]]:
    """Rasa buttons -> at most `limits.quick_replies` text quick replies with trimmed titles."""
    postbacks, _ = _split_buttons(buttons, limits)
    return [
        {"content_type": "text", "title": trim_title(title, limits.title), "payload": payload}
        for title, payload in postbacks[: limits.quick_replies]
    ]


def build_messages(
    text: Optional[str], buttons: Sequence[Dict[str, Any]], limits: Limits, prefer_template: bool = True
) -> List[Dict[str, Any]]:
    """The Send API `message` objects for a text with optional buttons, in sending order."""
    text = (text or "").strip()
    if not buttons:
        return [{"text": part} for part in split_text(text, limits.text)]
    postbacks, links = _split_buttons(buttons, limits)
    count = len(postbacks) + len(links)
    if prefer_template and text and 0 < count <= limits.template_buttons and text_length(text) <= limits.template_text:
        template_buttons = [
            {"type": "postback", "title": trim_title(title, limits.title), "payload": payload}
            for title, payload in postbacks
        ] + [{"type": "web_url", "title": trim_title(title, limits.title), "url": url} for title, url in links]
        return [
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "button", "text": text, "buttons": template_buttons},
                }
            }
        ]
    body = text or (DEFAULT_PROMPT if postbacks else "")
    if links:
        body = "\n".join([body, *(f"{title}: {url}" for title, url in links)]).strip()
    messages: List[Dict[str, Any]] = [{"text": part} for part in split_text(body, limits.text)]
    replies = quick_replies(buttons, limits)
    if messages and replies:
        messages[-1]["quick_replies"] = replies
    return messages


def build_generic_template(elements: Sequence[Dict[str, Any]], limits: Limits) -> Dict[str, Any]:
    """Rasa `elements` (carousel cards) -> a generic template within the element and button limits."""
    cards = []
    for element in list(elements)[: limits.generic_elements]:
        card = {key: value for key, value in element.items() if key != "buttons"}
        for key in ("title", "subtitle"):
            if isinstance(card.get(key), str):
                card[key] = trim_title(card[key], limits.element_text)
        buttons = []
        for button in (element.get("buttons") or [])[: limits.template_buttons]:
            button = dict(button)
            button.setdefault("type", "web_url" if button.get("url") else "postback")
            if isinstance(button.get("title"), str):
                button["title"] = trim_title(button["title"], limits.title)
            buttons.append(button)
        if buttons:
            card["buttons"] = buttons
        cards.append(card)
    return {"attachment": {"type": "template", "payload": {"template_type": "generic", "elements": cards}}}
