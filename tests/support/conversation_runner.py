"""Multi-turn conversation tests: loading tests/data/conversations/*.yml, checking replies, writing the report.

A conversation file holds `conversations:`, each with a `name` and `turns`. A turn has `user:` (the patient's
text) and at least one check on the bot's reply (all its messages' texts joined by newlines):

- `expect:` regexes that must all be found (case-insensitive)
- `expect_not:` regexes that must not be found
- `starts_with:` a regex the reply must start with
- `order:` [first, second]: the first match of `first` comes before the first match of `second`
- `requests:` how many booking / hand-off requests this conversation has recorded after the turn
- `request:` fields of the latest recorded request (dotted keys reach into `acc_details`; null = absent)

`{date:-20d}` in any text renders the clinic date 20 days ago as "9 November"; `{date_long:-20d}` as
"9 November 2026" (for the "Got it: injury on ..." check).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import yaml

CONVERSATIONS_DIR = Path(__file__).resolve().parents[1] / "data" / "conversations"
CHECK_KEYS = ("expect", "expect_not", "starts_with", "order", "requests", "request")
TURN_KEYS = ("user", *CHECK_KEYS)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_PLACEHOLDER = re.compile(r"\{(date|date_long):([+-]\d+)d\}")

Send = Callable[[str, str], str]  # (sender, message) -> the reply's joined text
Requests = Callable[[str], List[Any]]  # sender -> recorded requests, newest first


@dataclass
class Conversation:
    file: str
    name: str
    turns: List[Dict[str, Any]]


@dataclass
class Result:
    conversation: Conversation
    sender: str
    failure: Optional[str] = None  # the failed check, None when every turn passed
    turn: int = 0  # 1-based number of the failed turn
    user: str = ""
    reply: str = ""
    transcript: List[tuple] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure is None


def render(text: str, today: date) -> str:
    """Replace the date placeholders relative to the clinic's `today`."""

    def one(match: re.Match) -> str:
        d = today + timedelta(days=int(match.group(2)))
        short = f"{d.day} {_MONTHS[d.month - 1]}"
        return short if match.group(1) == "date" else f"{short} {d.year}"

    return _PLACEHOLDER.sub(one, text)


def load_conversations(directory: Path = CONVERSATIONS_DIR) -> List[Conversation]:
    """Every conversation of every YAML file in `directory`, in file then document order."""
    found: List[Conversation] = []
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("conversations") or []:
            found.append(Conversation(file=path.name, name=str(item.get("name", "")), turns=item.get("turns") or []))
    return found


def problems(conversations: Sequence[Conversation]) -> List[str]:
    """What is malformed: unknown keys, turns without a check, bad regexes, duplicate names."""
    issues: List[str] = []
    seen = set()
    for conv in conversations:
        where = f"{conv.file}: {conv.name!r}"
        if not conv.name:
            issues.append(f"{conv.file}: a conversation without a name")
        if conv.name in seen:
            issues.append(f"{where}: duplicate name")
        seen.add(conv.name)
        if not conv.turns:
            issues.append(f"{where}: no turns")
        for number, turn in enumerate(conv.turns, 1):
            if not isinstance(turn, dict) or not isinstance(turn.get("user"), str) or not turn["user"].strip():
                issues.append(f"{where} turn {number}: no user text")
                continue
            unknown = set(turn) - set(TURN_KEYS)
            if unknown:
                issues.append(f"{where} turn {number}: unknown keys {sorted(unknown)}")
            if not any(turn.get(key) not in (None, [], {}) for key in CHECK_KEYS):
                issues.append(f"{where} turn {number}: no check")
            order = turn.get("order")
            if order is not None and (not isinstance(order, list) or len(order) != 2):
                issues.append(f"{where} turn {number}: `order` needs two regexes")
            for pattern in [*(turn.get("expect") or []), *(turn.get("expect_not") or []), *(order or [])]:
                try:
                    re.compile(str(pattern))
                except re.error as error:
                    issues.append(f"{where} turn {number}: bad regex {pattern!r}: {error}")
    return issues


def _field(request: Any, key: str) -> Any:
    value: Any = request
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def check_turn(turn: Dict[str, Any], reply: str, requests: Optional[List[Any]], today: date) -> Optional[str]:
    """The first check of `turn` that `reply` (and the recorded requests) fail, or None."""
    for pattern in turn.get("expect") or []:
        if not re.search(render(str(pattern), today), reply, re.I):
            return f"expected /{render(str(pattern), today)}/"
    for pattern in turn.get("expect_not") or []:
        found = re.search(render(str(pattern), today), reply, re.I)
        if found:
            return f"must not contain /{render(str(pattern), today)}/ (found {found.group(0)!r})"
    if turn.get("starts_with") is not None:
        pattern = render(str(turn["starts_with"]), today)
        if not re.match(pattern, reply.lstrip(), re.I):
            return f"expected the reply to start with /{pattern}/"
    if turn.get("order"):
        first, second = (render(str(p), today) for p in turn["order"])
        a, b = re.search(first, reply, re.I), re.search(second, reply, re.I)
        if not a or not b:
            return f"expected both /{first}/ and /{second}/ (found: {bool(a)}, {bool(b)})"
        if a.start() >= b.start():
            return f"expected /{first}/ before /{second}/"
    if requests is not None:
        if turn.get("requests") is not None and len(requests) != int(turn["requests"]):
            return f"expected {turn['requests']} recorded request(s), found {len(requests)}"
        wanted = turn.get("request")
        if wanted:
            if not requests:
                return f"expected a recorded request like {wanted}, found none"
            for key, value in wanted.items():
                actual = _field(requests[0], key)
                if actual != value:
                    return f"recorded request: {key} = {actual!r}, expected {value!r}"
    return None


def run_conversation(conv: Conversation, send: Send, recorded: Requests, today: date) -> Result:
    """Play the turns in order under a fresh sender; stop at the first failing turn."""
    # a random id only: names in conversation titles ("... aroha ...") must not reach the logs (test_zz_log_privacy)
    result = Result(conversation=conv, sender=f"conv-{uuid.uuid4().hex[:12]}")
    for number, turn in enumerate(conv.turns, 1):
        user = render(turn["user"], today)
        try:
            reply = send(result.sender, user)
        except Exception as error:  # noqa: BLE001 - a crash or timeout is this conversation's failure
            reply, failure = "", f"no reply: {type(error).__name__}: {error}"
        else:
            needs_store = turn.get("requests") is not None or bool(turn.get("request"))
            failure = check_turn(turn, reply, recorded(result.sender) if needs_store else None, today)
        result.transcript.append((user, reply))
        if failure:
            result.failure, result.turn, result.user, result.reply = failure, number, user, reply
            break
    return result


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) or "> (empty)"


def report(results: Sequence[Result], command: str) -> str:
    """Markdown: the pass share, counts per file, and each failed conversation's failing turn."""
    passed = sum(r.passed for r in results)
    share = passed / len(results) if results else 0.0
    lines = [
        "# Conversation tests",
        "",
        f"**{passed} of {len(results)} conversations pass ({share:.0%}).** "
        f"Turns: {sum(len(r.conversation.turns) for r in results)}. Run: `{command}`",
        "",
        "| file | conversations | pass | fail |",
        "|---|---:|---:|---:|",
    ]
    for name in sorted({r.conversation.file for r in results}):
        group = [r for r in results if r.conversation.file == name]
        ok = sum(r.passed for r in group)
        lines.append(f"| {name} | {len(group)} | {ok} | {len(group) - ok} |")
    failed = [r for r in results if not r.passed]
    if failed:
        lines += ["", "## Failed conversations", ""]
    for r in failed:
        lines += [
            f"### {r.conversation.file}: {r.conversation.name}",
            "",
            f"Turn {r.turn} of {len(r.conversation.turns)}, patient: `{r.user}`",
            "",
            f"Failed check: {r.failure}",
            "",
            "Reply:",
            "",
            _quote(r.reply),
            "",
        ]
        if len(r.transcript) > 1:
            lines += ["<details><summary>Earlier turns</summary>", ""]
            for user, reply in r.transcript[:-1]:
                lines += [f"**patient:** {user}", "", _quote(reply), ""]
            lines += ["</details>", ""]
    return "\n".join(lines) + "\n"


def transcripts(results: Sequence[Result]) -> str:
    """Every conversation as played (up to its failing turn), for reviewing what the checks let through."""
    lines = ["# Conversation transcripts", ""]
    for r in results:
        status = "pass" if r.passed else f"FAIL at turn {r.turn}: {r.failure}"
        lines += [f"## {r.conversation.file}: {r.conversation.name} ({status})", ""]
        for user, reply in r.transcript:
            lines += [f"**patient:** {user}", "", _quote(reply), ""]
    return "\n".join(lines) + "\n"
