"""Keep health information out of the logs: ACC45 numbers, phone numbers, emails and the patient's own words.

What counts as an ACC45 number, a phone number or an email comes from bot/acc_codes.py and
bot/contact_details.py (one set of rules). The patient's words are redacted where Rasa logs them: at DEBUG,
Rasa 3.6 (structlog, JSON) logs `parse_data_text`, `user text: ...` in dialogue states and
`UserUttered(text: ...)`; a red-flag message ("I have chest pain") is only ever logged there.

Installed in a process by `logging.yml` (`rasa run --logging-config-file logging.yml`, and the same for
`rasa run actions`): building the filter also installs a log record factory, so every record is redacted
when it is created, whatever logger it comes from and whatever handler writes it (Rasa replaces the root
handlers with its own coloured handler after reading the logging config).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Optional

from bot.acc_codes import ACC45_IN_TEXT, normalise_acc45
from bot.contact_details import EMAIL_PATTERN, PHONE_PATTERN, normalise_nz_phone

ACC45 = "[ACC45]"
PHONE = "[PHONE]"
EMAIL = "[EMAIL]"
USER_TEXT = "[USER TEXT]"

# Rasa's structlog keys whose value is what the user typed (JSON rendering), see rasa/utils/log_utils.py.
_USER_TEXT_KEYS = ("text", "user_text", "parse_data_text", "user_message", "json_message", "token_text", "message")
_JSON_USER_TEXT = re.compile(r'"(' + "|".join(_USER_TEXT_KEYS) + r')": "(?:[^"\\]|\\.)*"')
# "[state 3] user text: AB 12345 | previous action name: ..." (rule/memoization policy states)
_STATE_USER_TEXT = re.compile(r"(user text: ).*?(?= \| |\\n|\n|\"|'|$)")
_USER_UTTERED = re.compile(r"(UserUttered\(text: ).*?(?=, intent: )")


def _phone(match: re.Match) -> str:
    """The phone-like run redacted, or the phone numbers within it ("2026-11-23 021 123 4567": the second)."""
    run = match.group(0)
    if normalise_nz_phone(run):
        return PHONE
    words = list(re.finditer(r"\S+", run))
    out, end, i = [], 0, 0
    while i < len(words):
        for j in range(min(len(words), i + 4), i, -1):  # longest run of up to 4 words that is a number
            start, stop = words[i].start(), words[j - 1].end()
            if normalise_nz_phone(run[start:stop]):
                out += [run[end:start], PHONE]
                end, i = stop, j
                break
        else:
            i += 1
    return "".join(out) + run[end:]


def _acc45(match: re.Match) -> str:
    return ACC45 if normalise_acc45(match.group(0)) else match.group(0)


def redact(text: str) -> str:
    """`text` with the patient's words, ACC45 numbers, emails and NZ phone numbers replaced by placeholders."""
    text = _JSON_USER_TEXT.sub(lambda m: f'"{m.group(1)}": "{USER_TEXT}"', text)
    text = _STATE_USER_TEXT.sub(rf"\g<1>{USER_TEXT}", text)
    text = _USER_UTTERED.sub(rf"\g<1>{USER_TEXT}", text)
    text = EMAIL_PATTERN.sub(EMAIL, text)
    text = PHONE_PATTERN.sub(_phone, text)  # before ACC45: "123-4567 and" is a phone number, not "4567 AND"
    return ACC45_IN_TEXT.sub(_acc45, text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message (and its arguments) by the redacted message; exception text too."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 (a broken format string must not break logging)
        message = str(record.msg)
    redacted = redact(message)
    if redacted != message or record.args:
        record.msg, record.args = redacted, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that redacts records instead of dropping them."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every log record of this process when it is created (idempotent)."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def redacting_filter(name: Optional[str] = None) -> RedactingFilter:
    """Factory for `logging.config.dictConfig` (`"()": bot.log_redaction.redacting_filter`): installs too."""
    install()
    return RedactingFilter(name or "")
