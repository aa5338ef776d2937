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
   matching was ~9 ms of a ~50 ms message). And since the result depends only on those last states, it is
   remembered for them (a bounded LRU per policy and lookup): a FAQ conversation meets the same few states again
   and again, and matching 510 rules was still a sixth of the Rasa process's time under load (`make profile`).
   The memo's key keeps only the values some rule reads: the patient's words (RulePolicy reads the last message
   once as text) are never kept, and messages that differ only in them share an entry.
   Guard: tests/unit/test_rasa_patches.py (same keys as Rasa's loop on rules and states of the trained model, asked
   twice: computed, then remembered; no patient text in the memo).
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
12. The action server's answer is checked against a validator built once (`RemoteAction._validate_action_result`):
   Rasa calls `jsonschema.validate` for every custom action's answer, which first checks Rasa's constant schema
   against the JSON Schema meta-schema: measured 36 ms a call here, a quarter of the Rasa process's time under load
   (`make profile`), against 1 ms for the same answer checked by a validator made once. A valid answer passes as
   before; an invalid one goes to Rasa's own method, so it is refused with Rasa's error and message.
   Guard: tests/unit/test_rasa_patches.py (valid answers pass, invalid ones raise Rasa's error, the schema is
   Rasa's).
13. The model's graph is run in a fixed order without dask (`DaskGraphRunner.run`): Rasa runs the NLU pipeline and
   the policies (twice or more per message) through `dask.get`, which builds a dask graph, orders it and executes it
   in the same thread, every time: measured ~7 % of the Rasa process's time under load (`make profile`), for graphs
   of a dozen nodes in a line. Here the order of the nodes each target needs is worked out once per runner, targets
   and inputs, and the nodes are called in it with what dask would give them: the outputs of their needs, an
   input as `(name, value)`, the name itself for a need nothing provides; inputs named like a node replace it, as
   in dask. Same outputs and errors (a RuntimeError becomes Rasa's GraphRunError).
   Guard: tests/unit/test_rasa_patches.py (the model's own NLU and policy graphs give what Rasa's runner gives),
   tests/e2e/test_conversations.py.
14. The intent classifier's input is built straight from the sentence features (`LogisticRegressionClassifier.
   _create_X`): for one message of one line, Rasa combines its sequence features (a row per token, unused) and its
   sentence features with copies and `hstack`s, converts to CSR, stacks an empty dense block beside it and the rows
   under each other: ~1.5–2 ms of scipy's work on tiny matrices, the largest part of parsing a message under load
   (`make profile`). Here the sparse sentence features' entries are put side by side, in the featurizers' order,
   sorted and summed into the same CSR matrix of float64 that Rasa's chain makes (~0.2 ms). A message with dense
   sentence features or anything unusual is built Rasa's way, without the unused sequence features.
   Guard: tests/unit/test_rasa_patches.py (the same matrix as Rasa's, entry for entry and type for type, for
   messages with two featurizers' features, sorted or not, with repeated columns and zeros, with and without
   dense features), tests/integration/test_long_conversations.py.
15. The entity extractor reuses the spaCy document of an all-lowercase message (`SpacyEntityExtractor.process`): the
   clinic's spaCy pipeline runs twice per message, once in SpacyNLP (on the lowercased text: config.yml has
   `case_sensitive: false`) and once in SpacyEntityExtractor (on the text as typed, so entity values keep their
   case). When the text is already lowercase, as patients often type, both runs are of the same string through the
   same pipeline: ~0.7 ms each here, most of it the EntityRuler's matching (`make profile`). Here Rasa's own
   `process` gets SpacyNLP's document for that message when its text is exactly the message's text; any other
   message is parsed again, as before.
   Guard: tests/unit/test_rasa_patches.py (the same entities for lowercase and mixed-case texts, the pipeline run
   once for a lowercase one), tests/integration/test_long_conversations.py.
16. A slot is copied by copying its attributes (`Slot.__copy__`, which Rasa's Slot does not define):
   `DialogueStateTracker.__init__` copies every slot of the domain (`copy.copy`) for each tracker it makes, and the
   policies make one for every event they replay: `copy.copy` goes through `__reduce_ex__` and `copyreg`, ~6 % of the
   Rasa process's time under load (`make profile`). Here a slot's copy is a new object of its class with the same
   attributes, which is what `copy.copy` makes of an object with no `__reduce__`, `__getstate__` or `__slots__` of
   its own (Python 3.10).
   Guard: tests/unit/test_rasa_patches.py (each slot type of the domain copied exactly as `copy.copy` did),
   tests/integration/test_long_conversations.py.
17. A tracker's past states are worked out once for the same events (`DialogueStateTracker.past_states`): RulePolicy
   asks for them twice right after a patient's message (once reading its text, once its intent), and each time
   Rasa replays the tracker's events into new trackers: ~11 % of the Rasa process's time under load (`make
   profile`). Here the states are remembered on the tracker with the events (the objects themselves, in order),
   the domain and the arguments they came from, and each caller gets its own copy (the featurizer edits the last
   state in place); any new, removed or different event computes them afresh.
   Guard: tests/unit/test_rasa_patches.py (the same states as Rasa's as a conversation goes on, copies, recomputed
   after a change), tests/integration/test_long_conversations.py.
18. Whether the domain is empty is checked against an empty domain made once (`Domain.is_empty`): Rasa builds
   `Domain.empty()` and its dictionary for every message (`MessageProcessor._check_for_unseen_features`), ~2 %
   under load (`make profile`). Same comparison, same result.
   Guard: tests/unit/test_rasa_patches.py.
19. The action server is called over kept-alive connections (`EndpointConfig.session`, for custom actions only):
   Rasa opens a new HTTP session, hence a new connection (and a hostname lookup in a thread), for every custom
   action. Each of those steps waits its turn in the event loop behind the other conversations' messages, so under
   load a message with a custom action took 3–4 times as long as one without (bench: "how much does it cost",
   ~400 ms against ~130 ms, at 10 busy conversations): it set the p95. Here the calls that `RemoteAction.run` makes
   share one session per event loop and endpoint, whose idle connections are closed after
   `ACTION_SERVER_KEEPALIVE` seconds, before the action server's own 5 s (so no request is sent on a connection the
   server is closing), and no cookie jar (Rasa's session per call kept no cookie from one call to the next). Same
   requests, headers, authentication and timeout; any other endpoint, even one asked during a custom action (an
   NLG server), is as Rasa makes it.
   Guard: tests/unit/test_rasa_patches.py (calls share one connection; other endpoints do not), tests/e2e/
   test_failures.py (the action server stopped and restarted mid-form).
20. The count-vector featurizers make only the sentence features when nothing reads the sequence ones
   (`CountVectorsFeaturizer.process`): each featurizer turns every token of a message into a row of features (the
   "sequence" features, for TensorFlow classifiers and entity extractors) besides the whole message's row (the
   "sentence" features, all that the logistic regression reads, see 14): the token rows were ~8 % of the Rasa
   process's time under load (`make profile`). Here, when the NLU graph being run holds only the components of
   `SEQUENCE_FEATURES_UNREAD` (this config's, checked by class, once per graph: 13 runs them), the featurizers add
   the sentence features exactly as Rasa's `_create_features` makes them and no sequence features; with any other
   component in the graph (say a DIETClassifier), and outside the graph runner (training), Rasa's own `process`.
   Guard: tests/unit/test_rasa_patches.py (the same sentence features as Rasa's; Rasa's own path with another
   component in the graph), tests/integration/test_long_conversations.py.
21. The spaCy pipeline is loaded once for both of the model's SpacyNLP nodes (`SpacyNLP.load_model`): Rasa's graph
   has a node that provides the pipeline and one that runs it, and each loads it (`spacy.load`): ~1 s of the start
   and ~12 MB for a copy nothing uses (the running node is handed the providing node's pipeline). Here a pipeline
   loaded from a folder is reused while its `meta.json` is unchanged (a rebuilt pipeline is loaded afresh);
   a failed load is not remembered.
   Guard: tests/unit/test_rasa_patches.py (one load, the same pipeline; a rebuilt folder loads again).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import contextvars
import functools
import logging
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import aiohttp
import numpy
import rasa
import scipy.sparse
from jsonschema import validators
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.lock_store import LockError
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.graph_components.converters.nlu_message_converter import NLUMessageConverter
from rasa.graph_components.providers.domain_provider import DomainProvider
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from bot.clinic.injury_dates import clinic_today
from bot.dialogue.context import resolve
from bot.dialogue.questions import split_questions
from bot.metrics import assistant as metrics
from bot.nlu.red_flag_detector import RED_FLAG_INTENT, RedFlagDetector
from bot.nlu.unknown_words import UnknownWordsFallback
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
# the action server's endpoint while `RemoteAction.run` calls it (19); None otherwise
_calling_action_server: contextvars.ContextVar[Optional[EndpointConfig]] = contextvars.ContextVar(
    "calling_action_server", default=None
)
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
    """`RemoteAction.run`, noting a failure (unreachable, refused, error) for the message being handled; its
    requests go over the kept-alive connections of 19."""
    token = _calling_action_server.set(self.action_endpoint)
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
    finally:
        _calling_action_server.reset(token)


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


def _matching_keys(self: RulePolicy, lookup: Dict[Text, Text], states: List[Dict[Text, Any]]) -> set:
    """Rasa's `_get_possible_keys`, skipping the checks that always pass (rules shorter than the look-back)."""
    possible = set(lookup.keys())
    for turn, state in enumerate(reversed(states)):
        if not any(_rule_length(key) > turn for key in possible):
            break  # every remaining rule is shorter than `turn`: Rasa keeps them all from here on
        possible = {key for key in possible if _rule_length(key) <= turn or self._is_rule_applicable(key, turn, state)}
    return possible


RULE_MATCHES_REMEMBERED = 20_000  # per policy and lookup; an entry is a few states and a few rule keys


class _RuleMatches:
    """The rule keys matching the last states of a conversation, for one lookup: a bounded LRU."""

    def __init__(self, lookup: Dict[Text, Text]) -> None:
        self.lookup, self.size = lookup, len(lookup)  # training pops rules from a lookup: then start afresh
        self.look_back = max((_rule_length(key) for key in lookup), default=0)
        # what the rules read: (sub-state, name); any other value cannot change a match, so it is not remembered
        states = [state for key in lookup for state in RulePolicy._rule_key_to_state(key)]
        self.read = frozenset((kind, name) for state in states for kind, sub in state.items() for name in sub)
        self.remembered: collections.OrderedDict[tuple, frozenset] = collections.OrderedDict()

    def still_for(self, lookup: Dict[Text, Text]) -> bool:
        return self.lookup is lookup and self.size == len(lookup)


_UNREAD = "(not read by any rule)"


def _frozen_state(state: Dict[Text, Any], read: frozenset) -> tuple:
    """A state (sub-states of names to strings or tuples) as a hashable key, the values no rule reads left out (the
    patient's words, when the last message is read as text: never kept); TypeError if it holds something else.
    Every name stays, so a sub-state is as empty or not as it was (RulePolicy tests `prev_action`'s presence)."""
    return tuple(
        (
            kind,
            tuple(
                sorted(
                    (name, (tuple(v) if isinstance(v, list) else v) if (kind, name) in read else _UNREAD)
                    for name, v in sub.items()
                )
            ),
        )
        for kind, sub in sorted(state.items())
    )


def get_possible_keys(self: RulePolicy, lookup: Dict[Text, Text], states: List[Dict[Text, Any]]) -> set:
    """The rule keys matching `states`, remembered for the last states that decide them (see 8)."""
    cache = self.__dict__.setdefault("_clinic_rule_matches", {})
    matches = cache.get(id(lookup))
    if matches is None or not matches.still_for(lookup):
        matches = cache[id(lookup)] = _RuleMatches(lookup)
    deciding = states[-matches.look_back :] if matches.look_back else []
    try:
        key = tuple(_frozen_state(state, matches.read) for state in deciding)
        hash(key)
    except TypeError:  # a state value Rasa's featurizer never makes: no remembering
        return _matching_keys(self, lookup, states)
    found = matches.remembered.get(key)
    if found is None:
        found = frozenset(_matching_keys(self, lookup, deciding))
        matches.remembered[key] = found
        if len(matches.remembered) > RULE_MATCHES_REMEMBERED:
            matches.remembered.popitem(last=False)
    else:
        matches.remembered.move_to_end(key)
    return set(found)


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


# -- 12. the action server's answer checked by a validator made once ------------------------------------------------

_rasa_validate_action_result = RemoteAction._validate_action_result


@functools.cache
def _action_result_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # what `jsonschema.validate` does on every call, here once
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """True for a valid answer (schema checked once); an invalid one is refused by Rasa's own method."""
    if _action_result_validator().is_valid(result):
        return True
    return _rasa_validate_action_result(self, result)


# -- 13. the model's graph run in a fixed order, without dask --------------------------------------------------------

_rasa_graph_run = DaskGraphRunner.run
GraphStep = Tuple[Text, Any, Tuple[Text, ...]]  # node name, GraphNode, the names of what it needs


def _graph_steps(runner: DaskGraphRunner, targets: Tuple[Text, ...], inputs: Tuple[Text, ...]) -> List[GraphStep]:
    """The nodes `targets` need, each after its needs; inputs stand in for nodes of the same name (as in dask)."""
    nodes = runner._graph_schema.nodes
    steps: List[GraphStep] = []
    seen: set = set(inputs)

    def visit(name: Text) -> None:
        if name in seen or name not in nodes:
            return
        seen.add(name)
        needs = tuple(nodes[name].needs.values())
        for need in needs:
            visit(need)
        steps.append((name, runner._instantiated_nodes[name], needs))

    for target in targets:
        visit(target)
    return steps


def run_graph(
    self: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None
) -> Dict[Text, Any]:
    """Rasa's `DaskGraphRunner.run`: the same nodes called with the same arguments, in an order made once."""
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    inputs = inputs or {}
    plans = self.__dict__.setdefault("_clinic_graph_steps", {})
    plan_key = (run_targets, tuple(inputs))
    plan = plans.get(plan_key)
    if plan is None:
        graph_names = tuple(self._graph_schema.minimal_graph_schema(list(run_targets)).nodes)
        steps = _graph_steps(self, run_targets, tuple(inputs))
        plan = plans[plan_key] = (steps, graph_names, sequence_features_unread(steps))
    steps, graph_names, unread = plan
    DaskGraphRunner._add_inputs_to_graph(inputs, dict.fromkeys(graph_names))  # Rasa's check of the input names
    results: Dict[Text, Any] = {name: (name, value) for name, value in inputs.items()}
    token = _sequence_features_unread.set(unread)  # (20)
    try:
        for name, node, needs in steps:
            results[name] = node(*[results.get(need, need) for need in needs])
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    finally:
        _sequence_features_unread.reset(token)
    return dict(results[target] for target in run_targets)


# -- 14. the intent classifier combines only the sentence features it reads ---------------------------------------

_rasa_create_x = LogisticRegressionClassifier._create_X


def _sentence_features(message: Message, sparse: bool) -> Any:
    """`message.get_sparse_features(TEXT)[1]` (or dense), without combining the sequence features too."""
    filtered = message._filter_sparse_features(TEXT, []) if sparse else message._filter_dense_features(TEXT, [])
    return Message._combine_features(filtered[1], [])


def _rasas_row(message: Message) -> Any:
    """One message's row as Rasa's `_create_X` makes it: sparse then dense sentence features, side by side."""
    sparse, dense = _sentence_features(message, sparse=True), _sentence_features(message, sparse=False)
    return scipy.sparse.hstack(
        [
            scipy.sparse.csr_matrix(sparse.features if sparse else []),
            scipy.sparse.csr_matrix(dense.features if dense else []),
        ]
    )


_PLAIN_DTYPES = frozenset(numpy.dtype(t) for t in ("float64", "float32", "int64", "int32"))


def _row_entries(message: Message) -> Optional[Tuple[numpy.ndarray, numpy.ndarray, int]]:
    """The row's (columns, values, width) read straight from the sparse sentence features, in Rasa's order of
    featurizers; None when the message has something else (dense or no sentence features, several rows)."""
    features = message._filter_sparse_features(TEXT, [])[1]
    if not features or message._filter_dense_features(TEXT, [])[1]:
        return None
    columns, values, width = [], [], 0
    for feature in features:
        matrix = feature.features.tocoo(copy=False)
        if matrix.shape[0] != 1 or matrix.dtype not in _PLAIN_DTYPES:
            return None
        columns.append(matrix.col.astype(numpy.int64) + width)
        values.append(matrix.data)
        width += matrix.shape[1]
    return numpy.concatenate(columns), numpy.concatenate(values).astype(numpy.float64), width


def create_x(self: LogisticRegressionClassifier, messages: List[Message]) -> Any:
    """Rasa's `_create_X`: a CSR matrix of float64 with sorted, summed entries, one row per message, built directly
    from the sentence features (Rasa's chain of hstacks and conversions gives exactly this); else Rasa's way."""
    rows = [_row_entries(message) for message in messages]
    if not rows or any(row is None for row in rows) or len({row[2] for row in rows}) != 1:
        return scipy.sparse.vstack([_rasas_row(message) for message in messages])
    indices, data, indptr = [], [], [0]
    for columns, values, _ in rows:
        unique, inverse = numpy.unique(columns, return_inverse=True)  # sorted; duplicates summed, as coo -> csr
        indices.append(unique.astype(numpy.int32))
        data.append(numpy.bincount(inverse, weights=values, minlength=len(unique)))
        indptr.append(indptr[-1] + len(unique))
    return scipy.sparse.csr_matrix(
        (numpy.concatenate(data), numpy.concatenate(indices), numpy.array(indptr, dtype=numpy.int32)),
        shape=(len(rows), rows[0][2]),
    )


# -- 15. the entity extractor reuses the spaCy document of a lowercase message -------------------------------------

_rasa_extract_spacy_entities = SpacyEntityExtractor.process


def extract_spacy_entities(self: SpacyEntityExtractor, messages: List[Message], model: SpacyModel) -> List[Message]:
    """Rasa's `process`, handed SpacyNLP's document of a message whose text it is exactly (a lowercase one)."""
    for message in messages:
        text, doc = message.get(TEXT), message.get(SPACY_DOCS[TEXT])
        if doc is not None and text and doc.text == text and doc.vocab is model.model.vocab:
            model_for_message = SpacyModel(model=lambda _text, doc=doc: doc, model_name=model.model_name)
        else:
            model_for_message = model
        _rasa_extract_spacy_entities(self, [message], model_for_message)
    return messages


# -- 16. a slot copied by copying its attributes -----------------------------------------------------------------


def copy_slot(self: Slot) -> Slot:
    """What `copy.copy` makes of a slot (a new object of its class, the same attribute values), without copyreg."""
    copied = self.__class__.__new__(self.__class__)
    copied.__dict__.update(self.__dict__)
    return copied


# -- 17. a tracker's past states worked out once for the same events ------------------------------------------------

_rasa_past_states = DialogueStateTracker.past_states


def _states_copy(states: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """A copy the featurizer may edit: new state and sub-state dicts (their values are strings and tuples)."""
    return [{kind: dict(sub) for kind, sub in state.items()} for state in states]


def past_states(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[Text, Any]] = None,
) -> List[Dict[Text, Any]]:
    """Rasa's `past_states`, remembered for the tracker's events as they are (see 17); a copy each time."""
    rule_only = tuple(sorted((key, tuple(value)) for key, value in (rule_only_data or {}).items()))
    arguments = (omit_unset_slots, ignore_rule_only_turns, rule_only)
    events = self.events
    remembered = self.__dict__.get("_clinic_past_states")
    if (
        remembered is not None
        and remembered[0] is domain
        and remembered[1] == arguments
        and len(remembered[2]) == len(events)
        and all(mine is theirs for mine, theirs in zip(remembered[2], events))
    ):
        return _states_copy(remembered[3])
    states = _rasa_past_states(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    self.__dict__["_clinic_past_states"] = (domain, arguments, tuple(events), _states_copy(states))
    return states


# -- 18. whether the domain is empty, against an empty domain made once -------------------------------------------


@functools.cache
def _empty_domain() -> Dict[Text, Any]:
    return Domain.empty().as_dict()


def domain_is_empty(self: Domain) -> bool:
    """Rasa's `Domain.is_empty` (its dictionary equals an empty domain's), the empty one made once."""
    return self.as_dict() == _empty_domain()


# -- 19. the action server called over kept-alive connections ---------------------------------------------------

ACTION_SERVER_KEEPALIVE = 2.0  # seconds an idle connection to the action server is kept (Sanic closes at 5)
_rasa_endpoint_session = EndpointConfig.session
_kept_sessions: Dict[Tuple[int, int], Tuple[Any, EndpointConfig, aiohttp.ClientSession]] = {}


class _KeptSession:
    """`async with` on a shared session that leaves it open for the next call."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _close_connections(session: aiohttp.ClientSession) -> None:
    """Close a kept session's connections now, without its event loop (gone when a test's loop ends or at exit);
    a closed session is not reported as left open. (`BaseConnector._close`: aiohttp 3.9, pinned.)"""
    connector = session.connector
    if connector is not None and not connector.closed:
        with contextlib.suppress(Exception):
            connector._close()


@atexit.register
def _close_kept_sessions() -> None:
    for _, _, session in _kept_sessions.values():
        _close_connections(session)
    _kept_sessions.clear()


def endpoint_session(self: EndpointConfig) -> Any:
    """Rasa's session for the endpoint; for a custom action's call, one kept open per event loop and endpoint."""
    if _calling_action_server.get() is not self:  # not the action server (e.g. an NLG server a response asks)
        return _rasa_endpoint_session(self)
    loop = asyncio.get_running_loop()
    kept = _kept_sessions.get((id(loop), id(self)))
    if kept is None or kept[0] is not loop or kept[1] is not self or kept[2].closed:
        if kept is not None:
            _close_connections(kept[2])
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        session = aiohttp.ClientSession(  # as Rasa's `EndpointConfig.session` makes it, with kept-alive connections
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=ACTION_SERVER_KEEPALIVE),
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie passes from one conversation's call to another's
        )
        kept = _kept_sessions[(id(loop), id(self))] = (loop, self, session)
    return _KeptSession(kept[2])


# -- 20. only sentence features when nothing reads the sequence ones ----------------------------------------------

# Components that never read sparse sequence features (Rasa 3.6.21's and this project's, by class; 14 makes the
# classifier read sentence features only): a graph of these and count-vector featurizers needs no token rows.
SEQUENCE_FEATURES_UNREAD = (
    NLUMessageConverter,
    SpacyNLP,
    SpacyTokenizer,
    CountVectorsFeaturizer,
    LogisticRegressionClassifier,
    UnknownWordsFallback,
    SpacyEntityExtractor,
    FallbackClassifier,
    RedFlagDetector,
    RegexMessageHandler,
    DomainProvider,
)
_sequence_features_unread: contextvars.ContextVar[bool] = contextvars.ContextVar("sequence_unread", default=False)
_rasa_count_vectors_process = CountVectorsFeaturizer.process


def sequence_features_unread(steps: List[GraphStep]) -> bool:
    """True for a graph with count-vector featurizers whose other components never read sequence features."""
    classes = [node._component_class for _, node, _ in steps]
    return CountVectorsFeaturizer in classes and all(cls in SEQUENCE_FEATURES_UNREAD for cls in classes)


def count_vectors_process(self: CountVectorsFeaturizer, messages: List[Message]) -> List[Message]:
    """Rasa's `process`; in a graph that reads no sequence features (see 20), the sentence features alone."""
    if not _sequence_features_unread.get() or self.vectorizers is None:
        return _rasa_count_vectors_process(self, messages)
    for message in messages:
        for attribute in self._attributes:
            tokens = self._get_processed_message_tokens_by_attribute(message, attribute)
            vectorizer = self.vectorizers.get(attribute)
            if not vectorizer or not tokens or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
                continue  # Rasa's `_create_features` gives no sentence features then
            sentence = vectorizer.transform([" ".join(tokens)])  # as Rasa's `_create_features` does
            sentence.sort_indices()
            self.add_features_to_message(None, sentence.tocoo(), attribute, message)
    return messages


# -- 21. the spaCy pipeline loaded once for both SpacyNLP nodes --------------------------------------------------

_rasa_load_spacy = SpacyNLP.load_model


@functools.lru_cache(maxsize=4)
def _load_spacy(name: Text, _version: Optional[Tuple[int, int]]) -> SpacyModel:
    return _rasa_load_spacy(name)


def load_spacy_model(spacy_model_name: Text) -> SpacyModel:
    """Rasa's `SpacyNLP.load_model`, remembered per name and version of the pipeline's folder (see 21)."""
    meta = Path(spacy_model_name or "") / "meta.json"
    try:
        stat = meta.stat()
        version: Optional[Tuple[int, int]] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None  # a package name, or nothing there: Rasa's own load says what is wrong
    return _load_spacy(spacy_model_name, version)


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
    (RemoteAction, "_validate_action_result", validate_action_result),
    (DaskGraphRunner, "run", run_graph),
    (LogisticRegressionClassifier, "_create_X", create_x),
    (SpacyEntityExtractor, "process", extract_spacy_entities),
    (Slot, "__copy__", copy_slot),
    (DialogueStateTracker, "past_states", past_states),
    (Domain, "is_empty", domain_is_empty),
    (EndpointConfig, "session", endpoint_session),
    (CountVectorsFeaturizer, "process", count_vectors_process),
    (SpacyNLP, "load_model", staticmethod(load_spacy_model)),
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
    _action_result_validator()  # (12) made now, not while the first patient waits for a custom action's answer
    _applied = True
