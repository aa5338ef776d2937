"""Every change this project makes to Rasa's own behaviour at run time, checked against Rasa 3.6.21.

`apply()` checks the Rasa version (it refuses any other) and installs them all from one list, `PATCHES`. It is
called when bot/storage/tracker_store.py is imported, which every Rasa process of the project does (endpoints.yml
names its tracker store), so the patches are in place before Rasa builds its agent. Each change says why and
which test guards it. On a Rasa upgrade: re-read each replaced function in the new source, run its guard test,
then change CHECKED_RASA_VERSION.

Not here, because they are not changes to Rasa's code: Rasa's extension points configured in credentials.yml
and endpoints.yml (the channels in bot/channels/, the tracker store and lock store in bot/storage/, the NLU
components in bot/nlu/, each documenting what it does differently from the Rasa class it extends), and the
redaction of every process's logs (bot/privacy/log_redaction.py: a logging filter, a record factory and exception
hooks installed by logging.yml in the Rasa processes, the action server and the web service alike, and structlog's
renderers told not to print frame locals, `stop_structlog_collecting_locals`), and the library warnings kept out of
`make run`'s terminal (bot/processes/warning_filters.py, a `warnings.showwarning` hook). Those change what is logged,
not what Rasa does, and must hold in processes that never import Rasa. Nor is keeping TensorFlow out of `rasa run` and
`rasa shell` (bot/processes/without_tensorflow.py, installed by their entry bot/processes/rasa_cli.py before Rasa is
imported): it changes what Rasa's imports get, not what Rasa does.

1. No silent fallback to memory (`Agent._create_tracker_store`). Rasa wraps the tracker store in a
   `FailSafeTrackerStore` that, when the database fails, logs and carries on with an in-memory store: forms
   lose their state and what the patient said is never stored. Here a failure raises
   `TrackerStoreUnavailable` instead, which (2) turns into the technical-problem answer.
   Guard: tests/e2e/test_failures.py (conversations database unwritable during a conversation).
2. A patient always gets a reply (`Agent.handle_message`). Rasa's channels swallow an exception while
   handling a message (REST answers `[]`, socket.io and Meta say nothing), and an agent without a model
   ignores messages. Here the patient gets `bot.service_messages.TECHNICAL_PROBLEM` (nothing of that turn is
   stored). The log line names the exception type; bot/privacy/log_redaction.py keeps the patient's words out.
   Guard: tests/e2e/test_failures.py, tests/e2e/test_zz_log_privacy.py (an error raised inside the NLU).
3. Action server down: the form resumes when it is back (`RemoteAction.run`, `MessageProcessor.handle_message`).
   Rasa logs a failed custom action and goes on without its events: the patient sees nothing and a form is
   left half-run. Here a turn in which a custom action failed is not stored (`MessageProcessor.save_tracker`
   skips it: the form and its slots stay as before the message; Rasa's own `UserUtteranceReverted` would not
   do, its undo does not compose with the way trackers collapse a form's turns) and the patient is asked to
   send the message again.
   Guard: tests/e2e/test_failures.py (action server stopped in the middle of the ACC check, then restarted).
4. Event type lookup cached (`Event.resolve_by_type`): Rasa walks every Event subclass for every stored event
   (~10 % of a message's time under load, `make profile`). Same results and errors.
   Guard: tests/integration/test_tracker_store.py, tests/integration/test_long_conversations.py.
5. Messages are read in the conversation's context (`MessageProcessor.parse_message`): Rasa's NLU sees one
   message alone, so "yep" after an offer, "never mind" inside a form or "ok ringing 111 now" after urgent-care
   advice would get the reply they get anywhere. `bot.dialogue.context.resolve` rewrites the intent from
   what the last reply offered or advised (the original is kept in the parse data).
   Guard: tests/unit/test_dialogue_context.py, tests/e2e/test_conversations.py.
6. Every question in a message is answered (`MessageProcessor.handle_message`): Rasa predicts one intent per
   message, so "do I need a referral, and can I see a physio too?" got one answer. A message with several
   distinct questions (`bot.dialogue.questions.split_questions`) is handled as one turn per question, in
   order, inside the same request, so the patient gets every answer in one reply. Each part's parse data says
   `part: [i, n]`: a form asks its question once, after the last part (actions/form_questions.py), and the
   reply to all parts counts as one reply for offers (bot/dialogue/offers.py).
   Guard: tests/unit/test_dialogue_context.py, tests/e2e/test_conversations.py (two_questions.yml).
7. The intent classifier's weights are stored column-major after loading (`LogisticRegressionClassifier.load`):
   scikit-learn multiplies the message's sparse features by `coef_.T`, and scipy copies a row-major transpose
   on every call — measured (`make profile`-style cProfile of `parse_message`) as the largest single cost of
   parsing a message (~3.6 ms of ~10 ms with #11's model). Same numbers, no copy.
   Guard: tests/unit/test_rasa_patches.py (same probabilities, no copy).
8. Rule matching stops looking back once every rule is shorter than the turns already checked
   (`RulePolicy._get_possible_keys`): Rasa checks every rule against every state of the conversation, though
   a rule of n states can only be ruled out by the last n (`_is_rule_applicable` returns True beyond them).
   Same result; the cost no longer grows with the conversation's length (measured with cProfile: rule
   matching was ~9 ms of a ~50 ms message).
   Guard: tests/unit/test_rasa_patches.py (same keys as Rasa's loop on rules and states of the trained model).
9. A red flag is answered while staff have taken a conversation over (`MessageProcessor._should_handle_message`).
   A staff takeover (bot/channels/staff.py) pauses the conversation (`ConversationPaused`); Rasa then stores the
   patient's messages and predicts nothing for them (only `/restart` gets through), so "I have chest pain" typed
   while a receptionist is busy elsewhere would wait for them. Here a message the NLU reads as `red_flag`
   (bot/nlu/red_flag_detector.py; bot/dialogue/context.py never rewrites it) is predicted for as usual, so the
   rules' urgent-care answer (`utter_red_flag`, data/rules/) reaches the patient at once; the conversation stays
   paused, and every other message still gets no reply from the assistant.
   Guard: tests/unit/test_rasa_patches.py, tests/e2e/test_staff_takeover.py (widget and Messenger).
10. A paused conversation's session does not expire (`MessageProcessor._has_session_expired`). Rasa starts a new
   session when the patient's last message is older than the session expiry (60 minutes), and a new session
   resets the tracker, pause included: a patient answering a staff member's message an hour later (staff may reply
   late, and Meta's human-agent window is 7 days) would get the assistant again while the console still shows the
   conversation taken over. Here a paused conversation keeps its session until staff hand it back.
   Guard: tests/unit/test_rasa_patches.py, tests/e2e/test_staff_takeover.py (a Messenger patient 30 hours later).
11. Every reply is counted for the metrics (`MessageProcessor._send_bot_messages`): the Prometheus counters of
   replies sent and fallbacks (bot/metrics/assistant.py) need the one place every bot message of every channel
   passes, and no extension point of ours sees them all (REST and socket.io send through Rasa's own output
   channels; the tracker store sees only stored turns, not what was sent). Same sends, in the same order, each
   counted once sent, by the channel of the message being handled. The other metrics hook into patches that exist
   for their own reasons: 2 counts each message received, its time to answer and each technical-problem answer by
   cause; 3 each failed custom action call by cause and, as the first code that runs once the conversation's lock
   is held (in-memory or Redis), the time the message waited for that lock. Cost: about 10 µs a message
   (docs/production.md, "Metrics").
   Guard: tests/unit/test_metrics.py (same sends in the same order, counted; the causes), tests/e2e/test_metrics.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import aiohttp
import numpy
import rasa
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.lock_store import LockError
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.clinic.injury_dates import clinic_today
from bot.dialogue.context import resolve
from bot.dialogue.questions import split_questions
from bot.metrics import assistant as metrics
from bot.nlu.red_flag_detector import RED_FLAG_INTENT
from bot.service_messages import TECHNICAL_PROBLEM

logger = logging.getLogger(__name__)

CHECKED_RASA_VERSION = "3.6.21"


class TrackerStoreUnavailable(RuntimeError):
    """The conversations database could not be read or written."""


# -- 1. no silent fallback to an in-memory tracker store ---------------------------------------------------


def _raise_unavailable(error: Exception) -> None:
    raise TrackerStoreUnavailable(f"conversations database failed: {type(error).__name__}") from error


_create_tracker_store = Agent._create_tracker_store


def create_tracker_store(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
    """Rasa's FailSafeTrackerStore, but raising instead of falling back to memory."""
    wrapped = _create_tracker_store(store, domain)
    if isinstance(wrapped, FailSafeTrackerStore):
        wrapped._on_tracker_store_error = _raise_unavailable
    return wrapped


# -- 2. a patient always gets a reply ------------------------------------------------------------------------


# (when the message being handled arrived, the channel label of its metrics): set by 2, read by 3 and 11
_handling: contextvars.ContextVar[Optional[Tuple[float, str]]] = contextvars.ContextVar("handling", default=None)


def _channel() -> str:
    handling = _handling.get()
    return handling[1] if handling is not None else metrics.OTHER


def problem_reason(error: BaseException) -> str:
    """The metrics' cause of a message not handled: the conversations database, the lock store or other."""
    if isinstance(error, TrackerStoreUnavailable):
        return metrics.CONVERSATIONS_DATABASE
    if isinstance(error, LockError):
        return metrics.LOCK_STORE
    return metrics.OTHER


async def tell_technical_problem(message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
    """Send the technical-problem answer on the message's channel; return what a collecting channel holds."""
    output = message.output_channel
    if output is None:
        return None
    try:
        await output.send_text_message(message.sender_id, TECHNICAL_PROBLEM)
        metrics.reply_sent(_channel())
    except Exception as error:  # noqa: BLE001 (the channel itself is down: nothing more can be done)
        logger.error("could not send the technical-problem answer: %s", type(error).__name__)
    return output.messages if isinstance(output, CollectingOutputChannel) else None


_agent_handle_message = Agent.handle_message


async def agent_handle_message(self: Agent, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
    """`Agent.handle_message`; any failure (and a missing model) gets the technical-problem answer. Measured."""
    started = time.perf_counter()
    channel = metrics.channel_label(message.input_channel)
    metrics.message_received(channel)
    token = _handling.set((started, channel))
    try:
        if not self.is_ready():
            logger.error("message not handled: no model is loaded")
            metrics.technical_problem(metrics.NO_MODEL)
            return await tell_technical_problem(message)
        try:
            return await _agent_handle_message(self, message)
        except Exception as error:  # noqa: BLE001 (whatever failed, the patient must hear from us)
            logger.error("message not handled: %s", type(error).__name__, exc_info=True)
            metrics.technical_problem(problem_reason(error))
            return await tell_technical_problem(message)
    finally:
        _handling.reset(token)
        metrics.MESSAGE_SECONDS.observe(time.perf_counter() - started)


# -- 3. a turn whose custom action failed is not stored -------------------------------------------------------

_failed_actions: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar("failed_actions", default=None)
_remote_run = RemoteAction.run


def action_failure_reason(error: BaseException) -> str:
    """The metrics' cause of a failed action server call; Rasa raises a RasaException over aiohttp's error."""
    for candidate in (error, error.__cause__, error.__context__):
        if isinstance(candidate, asyncio.TimeoutError):
            return "timeout"
        if isinstance(candidate, aiohttp.ClientResponseError):
            return "error_status"
        if isinstance(candidate, aiohttp.ClientConnectionError):
            return "unreachable"
    return metrics.OTHER


async def remote_action_run(self: RemoteAction, *args: Any, **kwargs: Any) -> List[Event]:
    """`RemoteAction.run`, noting a failure (unreachable, refused, error) for the message being handled."""
    try:
        return await _remote_run(self, *args, **kwargs)
    except ActionExecutionRejection:
        raise  # the action's own "not me" answer (forms): part of normal dialogue
    except Exception as error:
        metrics.action_server_failed(action_failure_reason(error))
        failed = _failed_actions.get()
        if failed is not None:
            failed.append(self.name())
        raise


_processor_handle_message = MessageProcessor.handle_message
_processor_save_tracker = MessageProcessor.save_tracker


async def processor_save_tracker(self: MessageProcessor, tracker: Any) -> None:
    """`MessageProcessor.save_tracker`, except at the end of a turn in which a custom action failed."""
    if _failed_actions.get():
        return  # the turn is dropped: the conversation stays as it was before the message
    await _processor_save_tracker(self, tracker)


async def processor_handle_message(self: MessageProcessor, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
    """`MessageProcessor.handle_message`; if a custom action failed, keep nothing of the turn and say so."""
    handling = _handling.get()
    if handling is not None:  # the conversation's lock is held from here (Agent.handle_message took it)
        metrics.LOCK_WAIT_SECONDS.observe(time.perf_counter() - handling[0])
    failed: List[str] = []
    token = _failed_actions.set(failed)
    try:
        result = await handle_each_question(self, message)
    finally:
        _failed_actions.reset(token)
    if not failed:
        return result
    logger.error("custom action %s failed: turn not stored, patient asked to send the message again", failed[0])
    metrics.technical_problem(metrics.ACTION_SERVER)
    tracker = await self.get_tracker(message.sender_id)  # as it was before the message
    tracker.update(BotUttered(TECHNICAL_PROBLEM, metadata={"technical_problem": True}))
    await self.save_tracker(tracker)
    return await tell_technical_problem(message)


# -- 5. messages read in the conversation's context ------------------------------------------------------------

_parse_message = MessageProcessor.parse_message


async def parse_message_in_context(
    self: MessageProcessor, message: UserMessage, tracker: Optional[DialogueStateTracker] = None, *args: Any, **kw: Any
) -> Dict[Text, Any]:
    """`MessageProcessor.parse_message`, then the intent the message has after the assistant's last reply."""
    parse_data = await _parse_message(self, message, tracker, *args, **kw)
    if tracker is None:
        return parse_data
    part = _question_part.get()
    if part:
        parse_data = {**parse_data, "part": list(part)}  # [i, n]: question i of n in one message (see 6)
    return resolve(parse_data, tracker.events, tracker.active_loop_name, clinic_today())


# -- 6. every question in a message answered ---------------------------------------------------------------------


QuestionPart = Optional[Tuple[int, int]]
_question_part: contextvars.ContextVar[QuestionPart] = contextvars.ContextVar("question_part", default=None)


async def handle_each_question(self: MessageProcessor, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
    """Rasa's `handle_message`, once per question when the message asks several (in order, one reply)."""
    text = message.text or ""
    if message.parse_data or text.startswith("/"):
        return await _processor_handle_message(self, message)

    async def parse_alone(part: str) -> Dict[Text, Any]:
        return await _parse_message(self, UserMessage(part, sender_id=message.sender_id))

    questions = await split_questions(text, parse_alone)
    if len(questions) < 2:
        return await _processor_handle_message(self, message)
    result = None
    for number, question in enumerate(questions, start=1):
        token = _question_part.set((number, len(questions)))
        part = UserMessage(
            question,
            message.output_channel,
            message.sender_id,
            input_channel=message.input_channel,
            message_id=message.message_id,
            metadata=message.metadata,
        )
        try:
            result = await _processor_handle_message(self, part)
        finally:
            _question_part.reset(token)
    return result


# -- 4. cached event type lookup ------------------------------------------------------------------------------

_resolve_uncached = Event.resolve_by_type


@functools.cache
def _resolve_cached(type_name: str) -> Optional[Type[Event]]:
    return _resolve_uncached(type_name)


def resolve_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """`Event.resolve_by_type` with the lookup cached; same results and errors."""
    try:
        return _resolve_cached(type_name)
    except ValueError:
        if default is not None:
            return default
        raise


# -- 7. the intent classifier's weights in the order scipy multiplies them ------------------------------------------

_load_logistic_regression = LogisticRegressionClassifier.load.__func__  # type: ignore[attr-defined]


def load_logistic_regression(cls: Type[LogisticRegressionClassifier], *args: Any, **kwargs: Any) -> Any:
    """Rasa's loader, then `coef_` column-major, so `X @ coef_.T` reads it without copying it."""
    component = _load_logistic_regression(cls, *args, **kwargs)
    classifier = getattr(component, "clf", None)
    if getattr(classifier, "coef_", None) is not None:
        classifier.coef_ = numpy.asfortranarray(classifier.coef_)
    return component


# -- 8. rule matching looks back only as far as the longest rule ---------------------------------------------------

_rasa_get_possible_keys = RulePolicy._get_possible_keys


@functools.cache
def _rule_length(rule_key: str) -> int:
    return len(RulePolicy._rule_key_to_state(rule_key))


def get_possible_keys(self: RulePolicy, lookup: Dict[Text, Text], states: List[Dict[Text, Any]]) -> set:
    """Rasa's `_get_possible_keys`, skipping the checks that always pass (rules shorter than the look-back)."""
    possible = set(lookup.keys())
    for turn, state in enumerate(reversed(states)):
        if not any(_rule_length(key) > turn for key in possible):
            break  # every remaining rule is shorter than `turn`: Rasa keeps them all from here on
        possible = {key for key in possible if _rule_length(key) <= turn or self._is_rule_applicable(key, turn, state)}
    return possible


# -- 9. a red flag answered while staff have the conversation -----------------------------------------------------

_rasa_should_handle_message = MessageProcessor._should_handle_message


def should_handle_message(tracker: DialogueStateTracker) -> bool:
    """Rasa's rule (not paused, or `/restart`), or the patient's latest message is a red flag."""
    if _rasa_should_handle_message(tracker):
        return True
    latest = tracker.latest_message
    return latest is not None and (latest.intent or {}).get("name") == RED_FLAG_INTENT


# -- 10. a paused conversation's session does not expire ----------------------------------------------------------

_rasa_has_session_expired = MessageProcessor._has_session_expired


def has_session_expired(self: MessageProcessor, tracker: DialogueStateTracker) -> bool:
    """Rasa's expiry check, except that a paused conversation (staff have it) never expires."""
    return not tracker.is_paused() and _rasa_has_session_expired(self, tracker)


# -- 11. every reply counted ------------------------------------------------------------------------------------


async def send_bot_messages(events: List[Event], tracker: DialogueStateTracker, output_channel: OutputChannel) -> None:
    """Rasa's `_send_bot_messages` (each `BotUttered` to the output channel, in order), counting each one sent."""
    channel = _channel()
    for event in events:
        if isinstance(event, BotUttered):
            await output_channel.send_response(tracker.sender_id, event.message())
            metrics.reply_sent(channel, (event.metadata or {}).get("utter_action"))


# -- installing them -------------------------------------------------------------------------------------------
# (Rasa class, attribute, replacement): every assignment to Rasa's code this project makes, in one list.
PATCHES: List[Tuple[Any, str, Any]] = [
    (Agent, "_create_tracker_store", staticmethod(create_tracker_store)),
    (Agent, "handle_message", agent_handle_message),
    (RemoteAction, "run", remote_action_run),
    (MessageProcessor, "save_tracker", processor_save_tracker),
    (MessageProcessor, "handle_message", processor_handle_message),
    (MessageProcessor, "parse_message", parse_message_in_context),
    (Event, "resolve_by_type", staticmethod(resolve_by_type)),
    (LogisticRegressionClassifier, "load", classmethod(load_logistic_regression)),
    (RulePolicy, "_get_possible_keys", get_possible_keys),
    (MessageProcessor, "_should_handle_message", staticmethod(should_handle_message)),
    (MessageProcessor, "_has_session_expired", has_session_expired),
    (MessageProcessor, "_send_bot_messages", staticmethod(send_bot_messages)),
]
_applied = False


def check_rasa_version(version: str = rasa.__version__) -> None:
    """Refuse to run on a Rasa other than the one the patches were checked against (they replace its internals)."""
    if version != CHECKED_RASA_VERSION:
        raise RuntimeError(
            f"bot/rasa_patches.py was checked against Rasa {CHECKED_RASA_VERSION}, not {version}: re-check each "
            "patch against the new version's source and its guard test, then update CHECKED_RASA_VERSION"
        )


def apply() -> None:
    """Check Rasa's version, then install every patch (once per process)."""
    global _applied
    if _applied:
        return
    check_rasa_version()
    for owner, attribute, replacement in PATCHES:
        setattr(owner, attribute, replacement)
    _applied = True
