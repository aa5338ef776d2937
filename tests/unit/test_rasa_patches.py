"""bot/rasa_patches.py: the version check, the one list of patches, (7, 8, 12–18, 20, 21) the same results as Rasa,
faster, (9, 10) a conversation staff took over: red flags still answered, the session kept, and (19) custom actions
over kept-alive connections."""

from __future__ import annotations

import json
import random
import tarfile
import time
from types import SimpleNamespace

import numpy
import pytest
import scipy.sparse
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.core.domain import SessionConfig
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sklearn.linear_model import LogisticRegression

from bot import rasa_patches
from tests.conftest import require_model

rasa_patches.apply()  # as every Rasa process of the project does (bot/storage/tracker_store.py)


def test_classifier_weights_are_column_major_and_predict_the_same(monkeypatch):
    rng = numpy.random.default_rng(0)
    X = scipy.sparse.random(60, 400, density=0.05, format="csr", random_state=1)
    y = rng.integers(0, 5, size=60)
    trained = LogisticRegression(max_iter=200).fit(X, y)
    before = trained.predict_proba(X)
    assert not trained.coef_.T.flags.c_contiguous  # as trained and loaded: `coef_.T` is copied on every prediction

    monkeypatch.setattr(rasa_patches, "_load_logistic_regression", lambda cls, *a, **k: SimpleNamespace(clf=trained))
    component = LogisticRegressionClassifier.load({}, None, None, None)

    assert component.clf.coef_.flags.f_contiguous and component.clf.coef_.T.flags.c_contiguous
    numpy.testing.assert_array_equal(component.clf.predict_proba(X), before)


def trained_rules() -> dict:
    """The trained model's rule lookup (RulePolicy's own file inside models/clinic.tar.gz)."""
    with tarfile.open(require_model()) as model:
        member = model.extractfile("components/train_RulePolicy0/rule_policy.json")
        return json.load(member)["lookup"]["rules"]


def test_rule_matching_keeps_the_same_rules_as_rasas_loop():
    rules = trained_rules()
    policy = RulePolicy.__new__(RulePolicy)  # the matching uses no instance state
    keys = sorted(rules)
    states_of = [RulePolicy._rule_key_to_state(key) for key in keys]
    rng = random.Random(11)
    histories = [list(states) for states in states_of]  # each rule's own states: that rule must match
    for _ in range(300):  # longer conversations: other rules' states before a rule's states
        history = [state for states in rng.sample(states_of, rng.randint(1, 6)) for state in states]
        histories.append(history + rng.choice(states_of))
    matched = 0
    for history in histories:
        expected = rasa_patches._rasa_get_possible_keys(policy, rules, history)
        assert rasa_patches.get_possible_keys(policy, rules, history) == expected
        matched += bool(expected)
        if len(history) >= 4:  # the longest rule: earlier states change nothing, the answer is the remembered one
            longer = [*rng.choice(states_of), *history]
            assert rasa_patches.get_possible_keys(policy, rules, longer) == expected
            assert rasa_patches._rasa_get_possible_keys(policy, rules, longer) == expected
    assert matched > len(keys)  # the comparison covered histories that do match rules
    (remembered,) = policy._clinic_rule_matches.values()
    assert remembered.look_back == 4 and 0 < len(remembered.remembered) < len(histories)  # shared last states


def test_remembered_rule_matches_follow_a_changed_lookup_and_stay_bounded(monkeypatch):
    rules = dict(trained_rules())
    policy = RulePolicy.__new__(RulePolicy)
    key = next(key for key in rules if len(RulePolicy._rule_key_to_state(key)) == 2)
    states = RulePolicy._rule_key_to_state(key)
    assert key in rasa_patches.get_possible_keys(policy, rules, states)
    rules.pop(key)  # as RulePolicy's training does while it checks its rules
    assert key not in rasa_patches.get_possible_keys(policy, rules, states)

    monkeypatch.setattr(rasa_patches, "RULE_MATCHES_REMEMBERED", 5)
    for other in list(rules)[:20]:
        rasa_patches.get_possible_keys(policy, rules, RulePolicy._rule_key_to_state(other))
    assert len(policy._clinic_rule_matches[id(rules)].remembered) == 5


def test_patches_refuse_another_rasa_version():
    rasa_patches.check_rasa_version(rasa_patches.CHECKED_RASA_VERSION)
    with pytest.raises(RuntimeError, match="checked against Rasa 3.6.21, not 3.7.0"):
        rasa_patches.check_rasa_version("3.7.0")


def test_every_patch_is_installed_from_the_one_list():
    import bot.storage.tracker_store  # noqa: F401  (every Rasa process loads it: it applies the patches)

    assert len(rasa_patches.PATCHES) == 22
    for owner, attribute, replacement in rasa_patches.PATCHES:
        installed = owner.__dict__[attribute]
        assert installed is replacement, f"{owner.__name__}.{attribute} is not the patched one"
        doc = rasa_patches.__doc__ or ""
        assert f"{owner.__name__}.{attribute}" in doc or attribute in doc, f"{attribute}: say why in the docstring"


def tracker_with(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("web:" + "0" * 32, [ActionExecuted("action_listen"), *events])


def said(intent: str, text: str = "...", timestamp=None) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 1.0}, timestamp=timestamp)


def test_a_red_flag_is_answered_in_a_paused_conversation_and_nothing_else_is():
    should_handle = MessageProcessor._should_handle_message  # what Rasa's prediction loop calls: patched
    assert should_handle is rasa_patches.should_handle_message
    red_flag = tracker_with(ConversationPaused(), said("red_flag", "I have chest pain"))
    assert should_handle(red_flag)
    assert not rasa_patches._rasa_should_handle_message(red_flag)  # Rasa alone would leave it for the staff member
    assert red_flag.is_paused()  # predicting for it does not resume the conversation
    for intent in ("faq_referral", "greet", "urgent_followup", "nlu_fallback", "human_handoff"):
        assert not should_handle(tracker_with(ConversationPaused(), said(intent))), intent
    # unchanged from Rasa: a conversation not paused (or resumed) is handled, `/restart` gets through a pause
    assert should_handle(tracker_with(said("faq_referral")))
    assert should_handle(tracker_with(ConversationPaused(), said("greet"), ConversationResumed(), said("greet")))
    assert should_handle(tracker_with(ConversationPaused(), said("restart", "/restart")))
    assert not should_handle(tracker_with(ConversationPaused()))  # no message at all


def test_a_paused_conversations_session_does_not_expire():
    processor = SimpleNamespace(domain=SimpleNamespace(session_config=SessionConfig(60, False)))
    expired = MessageProcessor._has_session_expired  # patched
    assert expired is rasa_patches.has_session_expired
    two_hours_ago = time.time() - 2 * 3600
    old = [SessionStarted(timestamp=two_hours_ago), said("greet", timestamp=two_hours_ago)]
    assert expired(processor, tracker_with(*old))  # Rasa's rule: 60 minutes without a message
    assert not expired(processor, tracker_with(*old, ConversationPaused()))  # staff have it: kept
    assert expired(processor, tracker_with(*old, ConversationPaused(), ConversationResumed()))  # handed back
    recent = [said("greet", timestamp=time.time() - 60)]
    assert not expired(processor, tracker_with(*recent))


def test_action_server_answers_are_checked_against_rasas_schema_once(monkeypatch):
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction("action_clinic_details", None)
    valid = {
        "events": [{"event": "slot", "name": "topic", "value": "prices"}, {"event": "active_loop", "name": None}],
        "responses": [{"response": "utter_clinic_details", "text": "..."}],
    }
    checks = []
    validator = jsonschema.validators.Draft202012Validator
    monkeypatch.setattr(validator, "check_schema", classmethod(lambda cls, schema: checks.append(schema)))
    rasa_patches._action_result_validator.cache_clear()
    for _ in range(3):
        assert action._validate_action_result(valid) is True
    assert checks == [RemoteAction.action_response_format_spec()]  # Rasa's schema, checked once for 3 answers
    rasa_patches._action_result_validator.cache_clear()


@pytest.mark.parametrize(
    "answer",
    [
        {"events": [{"event": "no_such_event"}]},
        {"events": {"event": "slot"}},
        {"responses": "utter_x"},
        {"events": [{"event": "slot", "name": 3}]},
    ],
)
def test_an_invalid_action_server_answer_is_refused_with_rasas_error(answer):
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    with pytest.raises(jsonschema.ValidationError) as rasas:
        rasa_patches._rasa_validate_action_result(RemoteAction("action_x", None), answer)
    with pytest.raises(jsonschema.ValidationError) as ours:
        RemoteAction("action_x", None)._validate_action_result(answer)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def _featurized(rng: numpy.random.Generator, tokens: int, dense: bool, messy: bool = False):
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    message = Message({TEXT: "..."})
    for origin, width in (("words", 40), ("chars", 90)):  # two CountVectorsFeaturizers, as config.yml has
        sequence = scipy.sparse.random(tokens, width, density=0.1, format="coo", random_state=rng.integers(1e6))
        message.add_features(Features(sequence, "sequence", TEXT, origin))
        sentence = scipy.sparse.coo_matrix(sequence.sum(axis=0))
        if messy:  # counts, columns out of order and repeated, an explicit zero
            columns = rng.integers(0, width, size=12)
            counts = rng.integers(0, 3, size=12)
            sentence = scipy.sparse.coo_matrix((counts, (numpy.zeros(12, dtype=int), columns)), shape=(1, width))
        message.add_features(Features(sentence, "sentence", TEXT, origin))
    if dense:
        message.add_features(Features(rng.random((1, 7)), "sentence", TEXT, "dense"))
        message.add_features(Features(rng.random((tokens, 7)), "sequence", TEXT, "dense"))
    return message


@pytest.mark.parametrize(
    "dense, messy, count", [(False, False, 3), (True, False, 3), (False, True, 3), (False, True, 1)]
)
def test_the_classifier_gets_the_same_matrix_as_from_rasa(dense, messy, count):
    rng = numpy.random.default_rng(3)
    for _ in range(20):
        messages = [_featurized(rng, tokens, dense, messy) for tokens in (1, 4, 9)[:count]]
        classifier = LogisticRegressionClassifier.__new__(LogisticRegressionClassifier)
        ours, rasas = classifier._create_X(messages), rasa_patches._rasa_create_x(classifier, messages)
        assert LogisticRegressionClassifier.__dict__["_create_X"] is rasa_patches.create_x
        assert ours.format == rasas.format == "csr" and ours.shape == rasas.shape == (count, 130 + 7 * dense)
        assert ours.dtype == rasas.dtype and ours.has_canonical_format == rasas.has_canonical_format
        for part in ("data", "indices", "indptr"):  # the same entries, in the same order, of the same types
            mine, theirs = getattr(ours, part), getattr(rasas, part)
            numpy.testing.assert_array_equal(mine, theirs)
            assert mine.dtype == theirs.dtype


TEXTS = [
    "my acc45 is ab 12345 and my bum hurts",
    "My ACC45 is AB 12345 and my Bum hurts",
    "read code s57.. for my gluteus medius",
    "Read code S57.. for my Gluteus Medius",
    "chest pain",
    "",
]


def test_the_entity_extractor_reuses_only_a_document_of_the_same_text():
    from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
    from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.build_spacy import build

    pipeline = build()
    runs = []

    class Counting:  # the clinic's pipeline, counting the texts it parses
        vocab = pipeline.vocab

        def __call__(self, text):
            runs.append(text)
            return pipeline(text)

    model = SpacyModel(model=Counting(), model_name="clinic")
    spacy_nlp = SpacyNLP(model, {"model": "clinic", "case_sensitive": False})
    extractor = SpacyEntityExtractor({**SpacyEntityExtractor.get_default_config(), "dimensions": None})
    assert SpacyEntityExtractor.__dict__["process"] is rasa_patches.extract_spacy_entities
    for text in TEXTS:
        ours, rasas = Message({TEXT: text}), Message({TEXT: text})
        spacy_nlp.process([ours, rasas], model)
        runs.clear()
        extractor.process([ours], model)
        rasa_patches._rasa_extract_spacy_entities(extractor, [rasas], model)
        assert ours.get(ENTITIES) == rasas.get(ENTITIES)
        assert runs == ([text] if text != text.lower() or not text else []) + [text]  # ours, then Rasa's


def test_slots_are_copied_as_copy_copy_did(monkeypatch):
    import copy

    from rasa.shared.core.slots import Slot

    from bot.responses import DOMAIN

    assert Slot.__dict__["__copy__"] is rasa_patches.copy_slot
    slots = [copy.deepcopy(slot) for slot in DOMAIN.slots]  # (the shared domain's own slots stay as they are)
    assert len({type(slot) for slot in slots}) >= 3  # text, bool, categorical, float, any ... as the domain has
    for slot in slots[::2]:
        slot.value = slot.initial_value if slot.initial_value is not None else True
    ours = [copy.copy(slot) for slot in slots]
    monkeypatch.delattr(Slot, "__copy__")
    rasas = [copy.copy(slot) for slot in slots]
    for slot, mine, theirs in zip(slots, ours, rasas):
        assert type(mine) is type(theirs) is type(slot) and mine is not slot
        assert mine.__dict__ == theirs.__dict__ and all(
            mine.__dict__[k] is theirs.__dict__[k] for k in theirs.__dict__
        )  # shallow: the same values, not copies of them


def test_past_states_are_remembered_for_the_same_events_and_copied():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, SlotSet

    from bot.responses import DOMAIN

    assert DialogueStateTracker.__dict__["past_states"] is rasa_patches.past_states
    rule_only = {"rule_only_slots": [], "rule_only_loops": ["acc_form"]}
    tracker = DialogueStateTracker.from_events("web:" + "1" * 32, [ActionExecuted("action_listen")], DOMAIN.slots)
    turns = [
        [said("greet", "kia ora"), ActionExecuted("utter_greet"), BotUttered("Kia ora!")],
        [ActionExecuted("action_listen"), said("faq_referral"), SlotSet("injury_date", "2026-11-01")],
        [ActionExecuted("utter_faq_referral"), ActionExecuted("action_listen")],
    ]
    for turn in turns:
        for event in turn:
            tracker.update(event)
            for args in [(False, False, None), (True, True, rule_only)]:
                expected = rasa_patches._rasa_past_states(tracker, DOMAIN, *args)
                first = tracker.past_states(DOMAIN, *args)
                assert first == expected
                first[-1].clear()  # as the featurizer edits the last state: the next caller is not affected
                assert tracker.past_states(DOMAIN, *args) == expected
    remembered = tracker.__dict__["_clinic_past_states"]
    assert remembered[2] == tuple(tracker.events)
    other = Domain.load("domain")  # another domain object: worked out for it, not taken from the first one
    assert tracker.past_states(other) == rasa_patches._rasa_past_states(tracker, other)
    assert tracker.__dict__["_clinic_past_states"][0] is other


def test_an_empty_domain_is_told_from_the_clinics_as_before():
    from rasa.shared.core.domain import Domain

    from bot.responses import DOMAIN

    assert Domain.__dict__["is_empty"] is rasa_patches.domain_is_empty
    assert Domain.empty().is_empty() and Domain.from_dict({}).is_empty()
    assert not DOMAIN.is_empty() and not Domain.from_dict({"intents": ["greet"]}).is_empty()


def test_custom_action_calls_share_a_kept_alive_connection_and_others_do_not():
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from tests.conftest import free_port

    seen = []  # (client port, Authorization header) of each request

    async def webhook(request: web.Request) -> web.Response:
        seen.append((request.transport.get_extra_info("peername")[1], request.headers.get("Authorization")))
        return web.json_response({"events": [], "responses": []})

    async def run() -> None:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer t"})
        try:
            nlg = EndpointConfig(endpoint.url, headers={"Authorization": "Bearer t"})  # e.g. an NLG server
            token = rasa_patches._calling_action_server.set(endpoint)  # as inside RemoteAction.run
            for _ in range(3):
                answer = await endpoint.request(json={"next_action": "x"}, method="post")
                assert answer == {"events": [], "responses": []}
            await nlg.request(json={}, method="post")  # another endpoint asked during the action: as in Rasa
            rasa_patches._calling_action_server.reset(token)
            await endpoint.request(json={}, method="post")  # outside a custom action: as in Rasa
        finally:
            await runner.cleanup()

    asyncio.run(run())
    assert EndpointConfig.__dict__["session"] is rasa_patches.endpoint_session
    ports = [port for port, _ in seen]
    assert len(set(ports[:3])) == 1  # one connection for the three custom action calls
    assert len(set(ports)) == 3 and all(auth == "Bearer t" for _, auth in seen)  # the others: one each
    kept = [session for _, _, session in rasa_patches._kept_sessions.values()]
    rasa_patches._close_kept_sessions()
    assert kept and all(session.closed for session in kept) and not rasa_patches._kept_sessions


@pytest.mark.parametrize(
    "config", [{"analyzer": "word", "max_ngram": 2}, {"analyzer": "char_wb", "min_ngram": 3, "max_ngram": 6}]
)
def test_featurizers_make_rasas_sentence_features_and_no_token_rows_when_none_are_read(tmp_path, config):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    texts = ["do i need a gp referral", "can i see a physio too", "what is cupping", "how much does it cost"]
    featurizer = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("cvf"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    training = TrainingData([Message(data={TEXT: t, INTENT: "faq"}) for t in texts])
    tokenizer.process_training_data(training)
    featurizer.train(training)

    def featurized(text: str, unread: bool) -> Message:
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        token = rasa_patches._sequence_features_unread.set(unread)
        try:
            featurizer.process([message])
        finally:
            rasa_patches._sequence_features_unread.reset(token)
        return message

    compared = 0
    for text in ["do I need a referral??", "cupping cost", "zzz", ""]:
        ours, rasas = featurized(text, True), featurized(text, False)
        assert all(f.type == "sentence" for f in ours.features)
        mine = [f.features for f in ours.features]
        theirs = [f.features for f in rasas.features if f.type == "sentence"]
        assert len(mine) == len(theirs)
        compared += len(mine)
        for a, b in zip(mine, theirs):
            assert a.format == b.format == "coo" and a.dtype == b.dtype and a.shape == b.shape
            for part in ("row", "col", "data"):
                numpy.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert compared >= 3


def test_token_rows_are_left_out_only_when_every_component_of_the_graph_is_known_not_to_read_them():
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

    def steps(*classes):
        return [(c.__name__, SimpleNamespace(_component_class=c), ()) for c in classes]

    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer

    clinic = steps(SpacyTokenizer, CountVectorsFeaturizer, LogisticRegressionClassifier)
    assert rasa_patches.sequence_features_unread(clinic)
    assert not rasa_patches.sequence_features_unread(steps(SpacyTokenizer, CountVectorsFeaturizer, DIETClassifier))
    assert not rasa_patches.sequence_features_unread(steps(RulePolicy))  # no featurizer: nothing to leave out


def test_the_spacy_pipeline_is_loaded_once_per_version_of_its_folder(tmp_path, monkeypatch):
    import spacy
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    from bot.nlu.build_spacy import build

    folder = tmp_path / "pipeline"
    build().to_disk(folder)
    loads = []
    real = spacy.load
    monkeypatch.setattr(spacy, "load", lambda *a, **k: loads.append(a[0]) or real(*a, **k))
    assert SpacyNLP.__dict__["load_model"].__func__ is rasa_patches.load_spacy_model
    first, second = SpacyNLP.load_model(str(folder)), SpacyNLP.load_model(str(folder))
    assert first.model is second.model and len(loads) == 1  # the provide and run nodes share one pipeline
    meta = folder / "meta.json"
    meta.write_text(meta.read_text() + " ")  # rebuilt
    assert SpacyNLP.load_model(str(folder)).model is not first.model and len(loads) == 2


def test_the_patients_words_are_not_kept_by_the_rule_matching_memo():
    """RulePolicy reads the last message as text once per message; no rule reads text, so no text is remembered."""
    rules = trained_rules()
    policy = RulePolicy.__new__(RulePolicy)
    key = next(key for key in rules if len(RulePolicy._rule_key_to_state(key)) == 2)
    states = RulePolicy._rule_key_to_state(key)
    for n in range(30):
        with_text = [*states[:-1], {**states[-1], "user": {"text": f"I have back pain number {n}"}}]
        expected = rasa_patches._rasa_get_possible_keys(policy, rules, with_text)
        assert rasa_patches.get_possible_keys(policy, rules, with_text) == expected
    (remembered,) = policy._clinic_rule_matches.values()
    assert len(remembered.remembered) == 1  # thirty messages, one entry
    assert "back pain" not in repr(list(remembered.remembered))
    assert all(name != "text" for kind, name in remembered.read if kind == "user")
