"""Keep health information out of the logs, at every level and in tracebacks: the one place for these rules.

What is redacted, wherever Rasa, Sanic or our code log it:
- the patient's words: `parse_data_text`, `"text"` and the other keys Rasa's structlog uses for user text,
  `user text: ...` in dialogue states, `UserUttered(text: ...)` and its entity values; the bot's utterances
  too (`BotUttered(...)`), since responses repeat slot values ("Thanks, Aroha Ngata", the date of injury), and
  the variables a domain response was filled with, which Rasa keeps in the utterance's metadata (the response's
  name and its tags are kept);
- slot values, slot names kept: `SlotSet(key: injury_date, value: [SLOT VALUE])`, Rasa's tab-indented
  "slot: value" lists (`processor.slots.log`, "Current slot values"), `slots: {...}` in dialogue states,
  `slot_candidates`, `prefilled_slots`, `metadata`; entity `value`s;
- tracebacks: frame local variables never reach a log (structlog's JSON tracebacks keep frames without
  `locals`, and structlog is told not to collect them), and exception messages are dropped (the exception
  type and the frames stay): they quote data (`KeyError('Aroha')`, SQL parameters, the text spaCy failed on);
- URL query strings and fragments (`...webhook?[QUERY]`), and percent-encoded text (`kiri%40example.org`);
- ACC45 numbers, emails and NZ phone numbers, also when cut short by a length limit (`aroha.ngata@exam`,
  `021 555 01'+40`). What counts as an ACC45 number, a phone number or an email comes from bot/clinic/acc_codes.py
  and bot/clinic/contact_details.py (one set of rules).

How Rasa 3.6's structlog lines get here (rasa/utils/log_utils.py, FORCE_JSON_LOGGING set by bot/processes/launcher.py):
its processors end with `dict_tracebacks` and `JSONRenderer`, and its logger factory is the standard library's,
so an event becomes ONE JSON string passed as the message of a standard log record (no `exc_info` on it). An
exception logged that way (`structlogger.exception(...)`) is inside that JSON: `"exception": [{"exc_type",
"exc_value", "frames": [{"filename", "lineno", "name", "locals": {...}}]}]`, since `dict_tracebacks` collects
every frame's locals by default (reprs cut at 80 characters: where `doc_like` holds the patient's text). So
a JSON message is parsed and redacted key by key (`redact_json`: `locals` dropped), anything else as text.

Installed in a process by `logging.yml` (`rasa run --logging-config-file logging.yml`, and the same for the
action server): building the filter also installs a log record factory, so every record is redacted when it
is created, whatever logger it comes from and whatever handler writes it (Rasa replaces the root handlers
with its own coloured handler after reading the logging config), plus hooks for uncaught exceptions.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any, Callable, Optional, Tuple, Type
from urllib.parse import unquote_plus

from bot.clinic.acc_codes import ACC45_IN_TEXT, normalise_acc45
from bot.clinic.contact_details import EMAIL_PATTERN, PHONE_PATTERN, normalise_nz_phone

ACC45 = "[ACC45]"
PHONE = "[PHONE]"
EMAIL = "[EMAIL]"
USER_TEXT = "[USER TEXT]"
BOT_TEXT = "[BOT TEXT]"
SLOT_VALUE = "[SLOT VALUE]"
VALUE = "[VALUE]"
QUERY = "[QUERY]"
EXCEPTION_MESSAGE = "[EXCEPTION MESSAGE]"

ExcInfo = Tuple[Type[BaseException], BaseException, Optional[TracebackType]]

# Rasa's structlog keys whose value is text someone typed or the bot said (rasa/utils/log_utils.py lists them).
TEXT_KEYS = frozenset(
    {"text", "user_text", "parse_data_text", "user_message", "json_message", "token_text", "message",
     "response", "response_text", "action_text"}
)  # fmt: skip
# Keys whose value maps names (slot names, metadata keys) to patient-provided values: names kept.
MAPPING_KEYS = frozenset({"slots", "slot_candidates", "prefilled_slots", "metadata", "session_started_metadata"})
DROPPED_KEYS = frozenset({"locals"})  # structlog's frame locals (dict_tracebacks)
# A slot whose value is never the patient's: the name of the slot a form asks for next.
PUBLIC_SLOTS = frozenset({"requested_slot"})

_JSON_USER_TEXT = re.compile(r'"(' + "|".join(sorted(TEXT_KEYS)) + r')": "(?:[^"\\]|\\.)*"')
_PY_USER_TEXT = re.compile(r"'(" + "|".join(sorted(TEXT_KEYS)) + r")': (?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
# "[state 3] user text: AB 12345 | previous action name: ..." (rule/memoization policy states)
_STATE_TEXT = re.compile(r"((?:user|previous action) text: ).*?(?= \| |\\n|\n|(?<!\\)[\"'](?=[,)}\]]|$)|$)")
_USER_UTTERED = re.compile(r"((?:UserUttered|AgentUttered)\(text: )[\s\S]*?(?=, intent: |, data: )")
_ENTITY_VALUE = re.compile(r"((?:(?<=, )entities: |Group: [^)]*\), ))[\s\S]*?(?= \(Type: )")
_BOT_UTTERED = re.compile(r"(BotUttered\(')[\s\S]*?(?=', (?:\{|null))|(BotUttered\(text: )[\s\S]*?(?=, data: )")
_BOT_EVENT = re.compile(r"BotUttered\((?:'|text: )")
# A bot utterance's metadata that is never the patient's: which response it is, and its tags (offer, context).
PUBLIC_BOT_METADATA = frozenset({"utter_action", "template", "metadata"})
_SLOT_SET = re.compile(r"(SlotSet\(key: ([^,()]+), value: )([\s\S]*?)(?=\)(?:$|, [A-Z]\w*\(|[.;\"'\]\\]))")
# "\tinjury_date: 2026-11-07" lines (processor.slots.log, "Current slot values:"), raw or JSON-escaped
_SLOT_LINE = re.compile(r"((?:\\t|\t)([A-Za-z_][\w-]*): )(.*?)(?=\\n|\n|\\t|\t|(?<!\\)\"(?=[,}\]]|$)|$)")
_SLOTS_DICT = re.compile(r"(slots: )(\{[^{}]*\})")
_PAIR = re.compile(
    r"""(?P<key>(?P<q>["'])(?P<name>[^"'\n]{1,60})(?P=q): )"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\([^()]*\)|\[[^\[\]]*\]|[^,}\]\s]+)"""
)
_VALUE_PAIR = re.compile(
    r"""(?P<key>(?P<q>["'])value(?P=q): )(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,}\]\s]+)"""
)

_URL_QUERY = re.compile(r"""((?:\b[A-Za-z][A-Za-z0-9+.-]*://|(?<=[\s'"(\[=])/)[^\s'"?#<>]*)([?#])[^\s'"<>]+""")
_ENCODED = re.compile(r"""(?<![^\s'"<>])[^\s'"<>]*?(?:%[0-9A-Fa-f]{2}|\d\+\d)[^\s'"<>]*""")
# anything like an email, even cut short: "aroha.ngata@exam", "kiri@"; internationalised ones ("aroha@māori.nz")
# too, which EMAIL_PATTERN leaves out. Also used by bot/staff/masking.py.
EMAIL_LIKE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]*(?:\.[\w-]*)*")
# a number at the point where a text was cut: end of text or line, structlog's `'+22`, "…", "..."
_CUT_NUMBER = re.compile(r"""(?<![\w+.])(?:\+|00)?\d[\d \t().-]{0,20}\d(?=\s*(?:['"]\+\d+|…|\.\.\.)|[ \t]*$)""", re.M)

_TRACEBACK_START = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(:.*)?$")
_CHAIN_LINES = ("During handling of the above exception", "The above exception was the direct cause")


def _quoted(placeholder: str, original: str) -> str:
    """`placeholder` in the quotes `original` was written in (JSON or Python repr), or bare."""
    return f"{original[0]}{placeholder}{original[0]}" if original[:1] in ("'", '"') else placeholder


def _slot_value(name: str, value: str) -> str:
    """A slot's value as it may be logged: None and the form's `requested_slot` kept, anything else hidden."""
    return value if value.strip() in ("None", "null", "") or name.strip() in PUBLIC_SLOTS else SLOT_VALUE


def _mapping_values(mapping: str) -> str:
    """`{'contact_name': 'Aroha'}` (Python repr or JSON) with each value hidden, the names kept."""
    return _PAIR.sub(lambda m: m["key"] + _quoted(_slot_value(m["name"], m["value"]), m["value"]), mapping)


def redact_urls(text: str) -> str:
    """Query strings and fragments of URLs and paths replaced (`/webhook?[QUERY]`); the path is kept."""
    return _URL_QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}{QUERY}", text)


def redact_encoded(text: str) -> str:
    """Percent- or plus-encoded tokens (`kiri%40example.org`, `021+555+0199`) decoded where they hide an identifier."""

    def decode(match: re.Match) -> str:
        decoded = unquote_plus(match.group(0))
        redacted = redact_identifiers(decoded)
        return match.group(0) if redacted == decoded else redacted

    return _ENCODED.sub(decode, text)


def redact_tracebacks(text: str) -> str:
    """Tracebacks in `text` keep their frames and exception types; exception messages are dropped."""
    if _TRACEBACK_START not in text:
        return text
    out, in_frames, in_message = [], False, False
    for line in text.split("\n"):
        if line.startswith(_TRACEBACK_START):
            in_frames, in_message = True, False
        elif in_frames and not line[:1].isspace() and line:
            match = _EXCEPTION_LINE.match(line)
            name = match.group(1) if match else "Exception"
            line = f"{name}: {EXCEPTION_MESSAGE}" if not match or match.group(2) else name
            in_frames, in_message = False, True
        elif in_message:
            if line and not line.startswith(_CHAIN_LINES):
                continue  # more lines of the exception's message
            in_message = False
        out.append(line)
    return "\n".join(out)


def redact_texts(text: str) -> str:
    """What the patient typed or the bot said, where Rasa logs it as text, replaced by placeholders."""
    text = _JSON_USER_TEXT.sub(lambda m: f'"{m.group(1)}": "{USER_TEXT}"', text)
    text = _PY_USER_TEXT.sub(lambda m: f"'{m.group(1)}': '{USER_TEXT}'", text)
    text = _STATE_TEXT.sub(rf"\g<1>{USER_TEXT}", text)
    text = _USER_UTTERED.sub(rf"\g<1>{USER_TEXT}", text)
    text = _ENTITY_VALUE.sub(rf"\g<1>{VALUE}", text)
    text = _BOT_UTTERED.sub(lambda m: (m.group(1) or m.group(2)) + BOT_TEXT, text)
    return redact_bot_metadata(text)


def redact_bot_metadata(text: str) -> str:
    """The variables a response was filled with (`dispatcher.utter_message(response=..., day=...)`), which Rasa
    logs in the utterance's metadata: `BotUttered('...', {data}, {"utter_action": ..., "day": "[BOT TEXT]"}, ...)`."""
    decoder, out, done = json.JSONDecoder(), [], 0
    for match in _BOT_EVENT.finditer(text):
        if match.start() < done:
            continue
        try:  # the event's data then its metadata, both JSON (BotUttered's str and repr)
            _, data_end = decoder.raw_decode(text, text.index("{", match.end()))
            metadata_start = text.index("{", data_end)
            metadata, metadata_end = decoder.raw_decode(text, metadata_start)
        except ValueError:
            continue
        if not isinstance(metadata, dict):
            continue
        hidden = {k: v if k in PUBLIC_BOT_METADATA else _hide_all(v, BOT_TEXT) for k, v in metadata.items()}
        out += [text[done:metadata_start], json.dumps(hidden)]
        done = metadata_end
    return "".join(out) + text[done:]


def redact_slot_values(text: str) -> str:
    """Slot and entity values, where Rasa logs them as text, hidden; slot names kept."""
    text = _SLOT_SET.sub(lambda m: m.group(1) + _slot_value(m.group(2), m.group(3)), text)
    text = _SLOT_LINE.sub(lambda m: m.group(1) + _slot_value(m.group(2), m.group(3)), text)
    text = _SLOTS_DICT.sub(lambda m: m.group(1) + _mapping_values(m.group(2)), text)
    return _VALUE_PAIR.sub(lambda m: m["key"] + _quoted(VALUE, m["value"]), text)


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


def _cut_phone(match: re.Match) -> str:
    """A number cut short that starts like an NZ phone number (0…, +64…, 0064…, 5+ digits) redacted."""
    run = match.group(0)
    digits = re.sub(r"\D", "", run)
    looks_like_phone = run.startswith(("+64", "0064")) or (digits.startswith("0") and not re.fullmatch(r"0\.\d+", run))
    return PHONE if looks_like_phone and len(digits) >= 5 else run


def _acc45(match: re.Match) -> str:
    """An ACC45 number redacted; not the decimals of a number ("confidence 0.4123 for intent")."""
    decimals = re.search(r"\d\.$", match.string[max(0, match.start() - 2) : match.start()])  # not the whole prefix
    return ACC45 if normalise_acc45(match.group(0)) and not decimals else match.group(0)


def redact_identifiers(text: str) -> str:
    """Emails, NZ phone numbers (also cut short) and ACC45 numbers replaced by placeholders."""
    text = EMAIL_PATTERN.sub(EMAIL, text)
    text = EMAIL_LIKE.sub(EMAIL, text)
    text = PHONE_PATTERN.sub(_phone, text)  # before ACC45: "123-4567 and" is a phone number, not "4567 AND"
    text = _CUT_NUMBER.sub(_cut_phone, text)
    # Every ACC45 shape, also one that reads as words ("2024 and", acc_codes.reads_as_words): in a log a
    # redacted word costs nothing, a number left because it looked like words would be a leak.
    return ACC45_IN_TEXT.sub(_acc45, text)


def redact(text: str) -> str:
    """`text` (a log message or part of one) with every kind of health information replaced by placeholders."""
    text = redact_urls(text)
    text = redact_encoded(text)
    text = redact_tracebacks(text)
    text = redact_texts(text)
    text = redact_slot_values(text)
    return redact_identifiers(text)


def _hide_all(value: Any, placeholder: str) -> Any:
    """Every leaf of a JSON value replaced by `placeholder` (None kept), the structure and keys kept."""
    if isinstance(value, dict):
        return {k: _hide_all(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_all(v, placeholder) for v in value]
    return value if value is None else placeholder


def redact_json(value: Any, key: Optional[str] = None) -> Any:
    """A parsed JSON log event redacted by key: frame locals dropped, texts, slot and entity values, exception
    messages hidden; every other string redacted as text (`redact`)."""
    if key in TEXT_KEYS:
        return USER_TEXT if isinstance(value, str) else _hide_all(value, USER_TEXT)
    if key == "exc_value":
        return EXCEPTION_MESSAGE
    if key == "value":
        return _hide_all(value, VALUE)
    if key in MAPPING_KEYS and isinstance(value, dict):
        return {name: v if name in PUBLIC_SLOTS else _hide_all(v, SLOT_VALUE) for name, v in value.items()}
    if isinstance(value, dict):
        return {k: redact_json(v, k) for k, v in value.items() if k not in DROPPED_KEYS}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return redact(value) if isinstance(value, str) else value


def redact_message(message: str) -> str:
    """A log message redacted: structlog's JSON events key by key (`redact_json`), anything else as text."""
    if message.startswith("{") and message.endswith("}"):
        try:
            event = json.loads(message)
        except ValueError:
            event = None
        if isinstance(event, dict):
            return json.dumps(redact_json(event))
    return redact(message)


def format_exception(exc_info: ExcInfo) -> str:
    """A traceback as Python prints it, without exception messages (`redact`): frames and types only."""
    return redact("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message (and its arguments), traceback and stack by redacted text.

    The exception itself is taken off the record (`exc_info`), so no formatter can render it again with its
    message or its frames' variables; `exc_text` holds the redacted traceback, which formatters print.
    """
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 (a broken format string must not break logging)
        message = str(record.msg)
    redacted = redact_message(message)
    if redacted != message or record.args:
        record.msg, record.args = redacted, ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = format_exception(record.exc_info)  # type: ignore[arg-type]
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that redacts records instead of dropping them."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def stop_structlog_collecting_locals() -> None:
    """Tell structlog's shared traceback renderers (the ones Rasa configures) not to collect frame locals.

    Rasa 3.6 uses `structlog.processors.dict_tracebacks` (JSON) or the console renderer's default exception
    formatter (`structlog.dev.rich_traceback` when rich is installed): both are module-level objects, so this
    works whenever Rasa configures structlog, before or after. `redact_json` drops `locals` anyway.
    """
    try:
        import structlog.dev
        import structlog.processors
    except ImportError:
        return
    for renderer in (
        getattr(structlog.processors.dict_tracebacks, "format_exception", None),
        getattr(structlog.dev, "rich_traceback", None),
    ):
        if hasattr(renderer, "show_locals"):
            renderer.show_locals = False  # type: ignore[union-attr]


def _print_exception(exc_type: Type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
    """`sys.excepthook`: an uncaught exception printed to stderr (the servers' log file) without its message."""
    sys.stderr.write(format_exception((exc_type, exc, tb)) + "\n")


def _print_thread_exception(args: Any) -> None:
    """`threading.excepthook`: as `_print_exception`, for an exception that ended a thread."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n")
    _print_exception(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


def install() -> None:
    """Redact every log record of this process when it is created, and uncaught tracebacks (idempotent)."""
    stop_structlog_collecting_locals()
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    sys.excepthook = _print_exception
    threading.excepthook = _print_thread_exception


def redacting_filter(name: Optional[str] = None) -> RedactingFilter:
    """Factory for `logging.config.dictConfig` (`"()": bot.privacy.log_redaction.redacting_filter`): installs too."""
    install()
    return RedactingFilter(name or "")

