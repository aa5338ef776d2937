"""The bounded working tracker (bot/storage/tracker_window.py): where the window is cut and what it keeps."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
import yaml
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import AnySlot, TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from bot.storage.tracker_window import WINDOW_TURNS, CachedSession, SessionCache, cut_index, turn_starts

ROOT = Path(__file__).resolve().parents[2]
SLOTS = [TextSlot("injury_date", mappings=[]), AnySlot("acc45", mappings=[]), TextSlot("untouched", mappings=[])]


def turn(text: str, *extra: Event) -> List[Event]:
    return [
        ActionExecuted("action_listen"),
        UserUttered(text, {"name": "faq", "confidence": 1.0}),
        *extra,
        ActionExecuted("utter_faq"),
        BotUttered("answer"),
    ]


def session(*turns: List[Event]) -> List[Event]:
    events: List[Event] = [ActionExecuted("action_session_start"), SessionStarted()]
    for t in turns:
        events.extend(t)
    return [*events, ActionExecuted("action_listen")]


def position(events: List[Event], event: Event) -> int:
    return next(i for i, e in enumerate(events) if e is event)


def users(events) -> int:
    return sum(isinstance(e, UserUttered) for e in events)


# How far back each policy this guard knows looks, in dialogue states. A policy not listed here fails the test:
# work out how far it looks back (TED, for one, reads `max_history` states, unbounded when it is missing).
MAX_HISTORY_POLICIES = {"MemoizationPolicy", "AugmentedMemoizationPolicy", "TEDPolicy", "UnexpecTEDIntentPolicy"}
KNOWN_POLICIES = {"RulePolicy"} | MAX_HISTORY_POLICIES


def policies_look_back(policies: List[dict], rules_dir: Path) -> int:
    """The most dialogue states any configured policy reads; AssertionError for what the window cannot bound."""
    look_back = 0
    for policy in policies:
        name = policy["name"]
        assert name in KNOWN_POLICIES, f"{name}: unknown to the window's guard, see tests/unit/test_tracker_window.py"
        if name == "RulePolicy":
            look_back = max(look_back, longest_rule(rules_dir))
        else:
            max_history = policy.get("max_history")
            assert isinstance(max_history, int) and max_history > 0, f"{name}: max_history missing or unbounded"
            look_back = max(look_back, max_history)
    return look_back


def longest_rule(rules_dir: Path) -> int:
    """States of the longest rule: one per action, plus the condition / start state."""
    longest = 0
    for path in rules_dir.glob("*.yml"):
        for rule in yaml.safe_load(path.read_text()).get("rules") or []:
            longest = max(longest, 1 + sum("action" in step for step in rule["steps"]))
    return longest


def test_window_covers_what_the_policies_look_back_on():
    """Every user turn is at least two dialogue states (listen, then an action): the window of WINDOW_TURNS turns
    covers 2 * WINDOW_TURNS states, more than any configured policy reads."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    assert policies_look_back(config["policies"], ROOT / "data" / "rules") < 2 * WINDOW_TURNS


@pytest.mark.parametrize(
    "policies",
    [
        [{"name": "RulePolicy"}, {"name": "TEDPolicy", "epochs": 1}],  # TED without max_history: unbounded
        [{"name": "MemoizationPolicy", "max_history": None}],
        [{"name": "MemoizationPolicy"}],
        [{"name": "my_project.SomePolicy", "max_history": 2}],
    ],
    ids=["ted-unbounded", "memoization-none", "memoization-missing", "unknown-policy"],
)
def test_the_guard_fails_on_what_it_cannot_bound(policies):
    with pytest.raises(AssertionError):
        policies_look_back(policies, ROOT / "data" / "rules")


def test_the_guard_counts_max_history():
    assert policies_look_back([{"name": "MemoizationPolicy", "max_history": 12}], ROOT / "no-rules") == 12


def test_turns_start_at_the_listen_before_each_message():
    events = session(turn("a"), turn("b"))
    assert [type(events[i]).__name__ for i in turn_starts(events)] == ["ActionExecuted", "ActionExecuted"]
    assert [events[i + 1].text for i in turn_starts(events)] == ["a", "b"]


def test_cut_leaves_the_last_turns():
    events = session(*(turn(str(n)) for n in range(20)))
    cut = cut_index(events, None)
    assert users(events[cut:]) == WINDOW_TURNS
    assert cut_index(session(*(turn(str(n)) for n in range(WINDOW_TURNS))), None) == 0


def test_cut_never_splits_an_active_form():
    form_on = turn("start", ActiveLoop("acc_form"))
    form_off = turn("done", ActiveLoop(None))
    events = session(turn("x"), form_on, *(turn(str(n)) for n in range(12)), form_off, turn("y"))
    assert cut_index(events, None) == position(events, form_on[0])  # the turn that started the form
    still_on = session(turn("x"), form_on, *(turn(str(n)) for n in range(12)))
    assert cut_index(still_on, None) == position(still_on, form_on[0])
    assert cut_index(still_on[position(still_on, form_on[0]) + 4 :], "acc_form") == 0  # active all along


def test_working_tracker_keeps_state_from_before_the_window():
    events = session(turn("date", SlotSet("injury_date", "2026-11-01"), SlotSet("acc45", None)))
    events += session(*(turn(str(n)) for n in range(3 * WINDOW_TURNS)))[2:]
    full = DialogueStateTracker.from_events("p", events, SLOTS)
    cached = CachedSession.build("p", SLOTS, events, list(range(1, len(events) + 1)))
    working = cached.working_tracker(SLOTS)
    assert len(working.events) < len(events) / 2
    assert users(working.events) == WINDOW_TURNS
    assert working.current_slot_values() == full.current_slot_values()
    assert working.slots["acc45"].has_been_set and not working.slots["untouched"].has_been_set
    assert working.latest_message.text == full.latest_message.text


def test_extending_equals_loading_at_once():
    events = session(*(turn(str(n), SlotSet("injury_date", str(n))) for n in range(30)))
    half = len(events) // 2
    grown = CachedSession.build("p", SLOTS, events[:half], list(range(1, half + 1)))
    grown.extend(events[half:], list(range(half + 1, len(events) + 1)))
    once = CachedSession.build("p", SLOTS, events, list(range(1, len(events) + 1)))
    assert (
        (grown.first_id, grown.last_id, grown.rows)
        == (once.first_id, once.last_id, once.rows)
        == (1, len(events), len(events))
    )
    assert grown.window == once.window
    assert grown.working_tracker(SLOTS).current_slot_values() == {"injury_date": "29", "acc45": None, "untouched": None}


def test_an_undo_in_the_window_gets_the_full_session():
    events = session(*(turn(str(n)) for n in range(20)), [UserUtteranceReverted()])
    cached = CachedSession.build("p", SLOTS, events, list(range(1, len(events) + 1)))
    assert list(cached.working_tracker(SLOTS).events) == events


def test_cache_drops_least_recently_used_beyond_its_event_budget():
    events = session(turn("a"))  # 8 events
    cache = SessionCache(max_events=20, max_idle=3600)
    for sender in ("a", "b", "c"):
        cache.put(sender, CachedSession.build(sender, SLOTS, events, list(range(1, 9))))
    assert (cache.get("a"), len(cache)) == (None, 2)
    cache.put("b", cache.get("b"))  # used again: "c" is now the oldest
    cache.put("d", CachedSession.build("d", SLOTS, events, list(range(1, 9))))
    assert cache.get("c") is None and cache.get("b") is not None


def test_cache_drops_sessions_left_idle():
    """A conversation another process deleted ("forget me") does not stay in this one's memory for long."""
    cache = SessionCache(max_events=1000, max_idle=60)
    build = lambda sender: CachedSession.build(sender, SLOTS, session(turn("a")), list(range(1, 9)))  # noqa: E731
    cache.put("old", build("old"), now=0)
    cache.put("recent", build("recent"), now=30)
    cache.put("new", build("new"), now=61)
    assert cache.get("old") is None and cache.get("recent") is not None and len(cache) == 2


def test_a_paused_conversation_stays_paused_after_the_cut():
    """Staff took over (a `pause` event through Rasa's HTTP API): the bot must keep quiet."""
    events = session(turn("help"), [ConversationPaused()], *(turn(str(n)) for n in range(3 * WINDOW_TURNS)))
    cached = CachedSession.build("p", SLOTS, events, list(range(1, len(events) + 1)))
    assert cached.base.events and cached.working_tracker(SLOTS).is_paused()
