"""Rasa NLU component that makes emergency symptoms win over any other intent, and only real ones.

The clinic's spaCy pipeline marks red-flag phrases (see `bot.nlu.spacy_patterns.RED_FLAGS`) as RED_FLAG
entities. Each one is a candidate; this component keeps the candidates a patient actually reports and drops:

- denied ones: a negation cue earlier in the same clause ("no tingling or numbness", "I haven't lost any
  bladder control", "gp ruled out a fracture", "can't say i've noticed any numbness"), a reassurance after it
  ("my bladder's fine") or a denial after it with the verb left out ("asked if i had saddle numbness and i
  don't", "incontinence? no");
- past ones: a healed or long-treated event ("a fracture I had last year that's healed", "a stroke years ago");
- worries: fainting or a fever talked about as a possibility ("will the needles make me feel faint?", "am i
  gonna pass out?") or a fever that is over ("my kid had a fever last week");
- questions about others or about what treatment does to anyone ("do you treat people who've had a stroke?",
  "can acupuncture make you lose bladder control?", "is it normal to feel faint after acupuncture?");
- figures of speech ("i can't breathe without my morning coffee lol").

When one candidate is kept, the intent is `red_flag` with full confidence, whatever the classifier or the
fallback said, so the urgent-care advice comes first even inside a long message.

The classifier's own `red_flag` examples remain a second net for phrasings the patterns miss. That net is
lowered only for a stated reason: the message's red-flag words were all dropped, or it describes pain that has
gone on for weeks or is played down ("it's just stiff"), reassures ("feeling in the groin is normal") or uses a
red-flag word in another sense ("did chest at the gym") — then the classifier's runner-up, or `ongoing_pain`
for long-standing pain, answers instead (see `triage`).

Measured on tests/data/red_flags.yml and tests/data/red_flags_blind.yml by
tests/integration/test_red_flag_eval.py; unit tests in tests/unit/test_red_flag_detector.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.dialogue.intents import RED_FLAG_INTENT

RED_FLAG_LABEL = "RED_FLAG"
ONGOING_PAIN_INTENT = "ongoing_pain"
FALLBACK_INTENT = "nlu_fallback"

# --- negation scope --------------------------------------------------------------------------------------
# Words that deny what follows them in the same clause. spaCy gives "not", "n't" and the "nt" of "dont" the
# lemma "not". "nor"/"neither" deny both sides of "or".
NEGATION_WORDS = {"no", "never", "without", "none", "nor", "neither", "nothing", "nothin", "nope", "zero"}
# "ruled out a fracture", "rule out": a clinician has denied it.
RULED = {"ruled", "rule", "rules", "ruling"}
# A clause ends at punctuation or at a word that starts a new statement: "no fever, but chest pain",
# "i don't have a fever and my chest hurts", "no numbness, just a sore bum". Not "or": "no tingling or numbness".
CLAUSE_BREAKS = {
    "but",
    "and",
    "though",
    "although",
    "however",
    "except",
    "yet",
    "so",
    "because",
    "cos",
    "coz",
    "cause",
    "just",
    "only",
    "now",
    "then",
    "also",
    "plus",
    "whereas",
    "while",
    "which",
    "who",
}
# How far back a negation cue may be: "i'm not having any trouble breathing" (4 words) but not a whole
# paragraph.
NEGATION_WINDOW = 8
# "can't"/"couldn't"/"won't"/"unable": a negated *ability* is a symptom, not a denial ("can't hold my bladder",
# "can no longer control it", "can't walk without passing out"). Patterns include their own "can't", and a
# negation cue right after one of these words is never read as a denial.
INABILITY_HEADS = {"ca", "can", "could", "wo", "cant", "cnt"}
INABILITY_WORDS = {"cant", "cnt", "cannot", "couldnt", "wont", "unable"}
# ...except "can't say (that) i've noticed any numbness", "couldn't say": a hedged denial, not a lost ability.
HEDGED = {"say", "recall"}
# Between a negation and the red-flag words, these make it lost ability, not a denial: "haven't been able to
# control my bladder", "i haven't been able to stop wetting myself". ("feel" is not one: "doesn't feel broken".)
ABILITY = {"able", "control", "controll", "controlling", "hold", "stop", "manage", "empty", "move", "lift", "sense"}
# "don't know if it's broken", "not sure if", "no idea whether": uncertainty, which stays an emergency.
UNCERTAINTY = {"know", "sure", "certain", "idea", "tell", "wonder", "wondering", "unsure", "if", "whether", "remember"}
# "never had such bad chest pain", "never felt anything like this": the negation intensifies.
INTENSIFIERS = {"such", "so", "worse", "worst", "like", "this"}
# After the red-flag words, in the same clause: "my bladder and bowels are fine", "fracture was ruled out".
REASSURANCE_AFTER = {"fine", "normal", "normally", "ok", "okay", "good", "clear", "excluded"}
REASSURANCE_WINDOW = 5
# A denial after the red-flag words, with the verb left out: "asked if i had saddle numbness and i don't",
# "any chest pain? nope", "lost bladder control? no, never". The clause must end right after it, so
# "numbness and i don't know what to do" stays a report.
ELLIPTICAL_DENIAL = re.compile(
    r"^\W*(?:(?:and|but)\s+)?(?:(?:i|he|she|they|we|it)\s+)?"
    r"(?:(?:do|did|does|have|has|had|am|was|is|are|were)\s*(?:n'?t|not)|nope|nah|no|never|none)"
    r"(?:\s+(?:have|had|got|any|at all|either|really|sorry))?"
    r"\s*(?:[,.;!?)]|$|(?:and|but|so|he|she|they|the gp|the doc)\b)"
    # question and answer: "any loss of bladder control? nope", "incontinence? no, never"
    r"|^[^.!?,;]{0,40}\?\s*(?:no|nope|nah|never|none)\s*(?:[,.;!?)]|$)"
)

# --- past events -----------------------------------------------------------------------------------------
# A fracture, dislocation, stroke or heart attack that has healed or been treated is history, not an emergency:
# "can i claim acc for a fracture i had last year that's healed?", "on crutches after a broken foot".
# Checked in the red-flag words' clause (punctuation and "but" end it). Thoughts of suicide are never history.
PAST_EVENT = re.compile(
    r"\b(healed|healing|recovered|recovering|operated|pinned|plated|plaster|crutches"
    r"|moon boot|cast|years? ago|last (year|season|winter|summer|autumn|spring)"
    r"|in (19|20)\d\d|(19|20)\d\d|as a (kid|child|teen|teenager)|when i was (a kid|young|little|younger|a child)"
    r"|old (injury|fracture|break)|history of|previous|previously|used to|in the past|approved)\b"
)
# ...unless it is happening again now: "broke it last year and i think i've broken it again today".
RECENT = re.compile(
    r"\b(today|tonight|yesterday|this (morning|arvo|afternoon|evening|week)|just now|last night|right now|again)\b"
)
NEVER_HISTORY = {"suicidal"}

# --- worries ---------------------------------------------------------------------------------------------
# Fainting talked about as a possibility ("will the needles make me feel faint?", "i get a bit faint around
# needles") and a fever in an "if" ("if i'm sick with a temperature on the day"). A reported event
# ("i fainted", "passed out", "keep blacking out") always stays: only the base forms below can be a worry.
FAINT_BASE = {"faint", "pass", "black", "collapse"}
FAINT_WORRY = {
    "if",
    "hope",
    "will",
    "would",
    "worried",
    "worry",
    "worries",
    "scared",
    "afraid",
    "nervous",
    "anxious",
    "needle",
    "needles",
    "easily",
    "usually",
    "tend",
    "around",
}
# ...and these only in a question: "am i gonna pass out when you put them in?" (but "i feel like i'm gonna
# pass out" is a report).
FAINT_WORRY_QUESTION = {"gonna", "going", "might", "could", "will", "would"}
FEVER_WORRY = {"if", "case"}
# A fever that is over: "my kid had a fever last week so we cancelled". Only for fever: a faint or a fracture
# last week still needs seeing to.
FEVER_PAST = re.compile(r"\b(last|the other|past) (week|fortnight|month)\b|\b(weeks?|fortnight|months?) ago\b")

# --- questions about other people or about treatment --------------------------------------------------------
# A question about people in general or about what treatment might do to anyone, not a report: "do you treat
# people who've had a stroke?", "can acupuncture make you lose bladder control?". Checked in the red-flag
# words' sentence, which must end with "?"; never for thoughts of suicide. "can acupuncture cause chest pain?"
# (no "you"/"people") stays a report: the patient may be describing their own.
GENERIC_QUESTION = re.compile(
    r"\b(people|patients|someone|somebody|anyone|anybody|those|clients|others)\s+(who|whove|who've|whos|who's|that|with)\b"
    r"|\bdo you (treat|see|help|work with|take)\b"
    r"|\b(can|could|does|do|will|would|might|may)\s+(acupuncture|needling|dry needling|cupping|the needles|needles"
    r"|treatment|the treatment|it|a session)\s+(make|cause|give|lead)\s+(you|people|someone|anyone|patients)\b"
)
# Feeling faint as a known after-effect: "is it normal to feel a bit faint after acupuncture?" (only for
# fainting: chest pain or breathlessness after needling is an emergency however it is asked).
FAINT_AFTER_TREATMENT = re.compile(
    r"\bis it (normal|common|usual|ok|okay)\s+to\b.*\b(after|from|during)\s+(the\s+|a\s+|my\s+)?"
    r"(acupuncture|needling|dry needling|cupping|needles|treatment|session)"
)
# Figures of speech: "i can't breathe without my morning coffee lol". An inability "without" an everyday thing,
# or with a joke marker, in the same clause.
IDIOM_AFTER = re.compile(
    r"^\s*without\s+(my\s+|a\s+|the\s+|me\s+)?(\w+\s+){0,2}"
    r"(coffee|coffees|caffeine|flat white|tea|cuppa|phone|music|wine|beer|chocolate|netflix|gym|dog|cat|kids?)\b"
)
JOKE = re.compile(r"\b(lol|lmao|haha\w*|jk|rofl)\b|😂|🤣")

# --- the classifier-only net -----------------------------------------------------------------------------
# Pain that has gone on for weeks, comes and goes or is "chronic": without any red-flag words the patient
# gets the kind ongoing-pain reply (GP / physio / Healthline / free consult), not 111.
CHRONIC = re.compile(
    r"\b(for|since|over|past|last)\s+(the\s+)?(last\s+|past\s+)?(a\s+few\s+|a\s+couple\s+(of\s+)?|several\s+|many\s+"
    r"|\d+\s+|two\s+|three\s+|four\s+|five\s+|six\s+|seven\s+|eight\s+|nine\s+|ten\s+)?"
    r"(weeks?|months?|years?|ages|yonks|a\s+while|a\s+long\s+time|so\s+long|a\s+fortnight|fortnight|christmas"
    r"|last\s+(year|season|month|winter|summer|autumn|spring)|my\s+pregnancy)\b"
    r"|\b(weeks|months|years)\s+(now|of)\b|\b(ongoing|chronic|long[- ]term|long[- ]standing|nagging|constant|constantly"
    r"|recurring|persistent)\b|\b(on and off|off and on|comes and goes|all the time|every (night|day|morning|time))\b"
    r"|\bkeeps?\s+(coming|flaring)\s+back\b|\b(never|won'?t|doesn'?t|not)\s+(really\s+)?go(es)?\s+away\b"
    r"|\bflares?\s+up\b|\bold injury\b|\blasted\s+(weeks|months|years)\b"
    # "since my 40s", "since i was a teenager", "been years", "now and then", "the old disc issue"
    r"|\bsince (my|i was in my|i was a) (\d0'?s|teens?|teenager|twenties|thirties|forties|fifties|sixties|seventies)\b"
    r"|\b(been|for) (years|yonks|ages|forever|donkey'?s years)\b"
    r"|\b(now and then|now and again|every so often|from time to time|same as (usual|always|ever))\b"
    r"|\bold (\w+ )?(injury|issue|problem|disc|back)\b"
)
# A whole message that reassures rather than reports: "no problems with peeing or pooing", "feeling in the
# groin area is normal", "bladder and bowels are fine". Lowers only the classifier's red_flag (no pattern).
REASSURED = re.compile(
    r"\b(no|not|never|without|nothing|zero)\s+(\w+\s+){0,2}(problems?|issues?|trouble|changes?|concerns?)\s+(with|in)\b"
    r"|\b(is|are|'s|feels?|seems?|working)\s+(all\s+|totally\s+|completely\s+|perfectly\s+|pretty\s+)?"
    r"(normal|fine|ok|okay)\b"
)
# Red-flag words in other senses: body parts as gym sessions ("did heaps of chest and back at the gym", "chest
# day"), records ("broke my PB") and swimming strokes.
GYM_SENSE = re.compile(
    r"\b(chest|legs?|back|arms?|shoulders?)\s+(and\s+\w+\s+)?(day|workout|session|press|fly|flies|exercises?)\b"
    r"|\b(did|doing|trained|training|train|worked|working)\s+(heaps\s+of\s+|lots\s+of\s+|some\s+|a\s+lot\s+of\s+)?"
    r"chest\s+(and|at|in|on|yesterday|today|this|last)\b"
    r"|\bchest\s+(and|&|n)\s+(back|triceps|tris|biceps|bis|shoulders|arms|legs|abs|core)\b"
    # ...and other senses the patterns already skip: "broke my personal best", "swim breast stroke"
    r"|\bbr(o|ea)ke?\s+(my\s+|a\s+|the\s+)?(personal best|pb|pr|\w+ record|record)\b"
    r"|\b(breast|back)\s?stroke\b"
)
# Played down: "it's just stiff", "that's just fitness", "aren't numb, just tired".
PLAYED_DOWN = re.compile(r"\b(it'?s|that'?s|its|thats)\s+just\b")
PLAYED_DOWN_AFTER_NEGATION = re.compile(r"(\bno\b|\bnot\b|n'?t\b|\bnever\b|\bnothing\b).*\bjust\b")
# What a demoted message is about when the classifier's runner-up is unsure: pain -> the ongoing-pain reply.
PAIN_WORDS = re.compile(r"\b(pain\w*|sore\w*|ach\w*|hurt\w*|stiff\w*|tight\w*|agony|bruis\w*|throb\w*|niggl\w*)\b")


@dataclass
class Candidate:
    """One RED_FLAG span and what the detector decided about it."""

    kind: str
    text: str
    reason: Optional[str]  # None: a reported emergency; else why it was dropped (denied / past / worry)

    @property
    def kept(self) -> bool:
        return self.reason is None


def red_flag_kinds(doc: Any) -> List[str]:
    """The kinds of red flag (pattern ids) found in a spaCy doc, in order of appearance (before negation)."""
    return [ent.ent_id_ or ent.label_ for ent in getattr(doc, "ents", ()) if ent.label_ == RED_FLAG_LABEL]


def _is_break(token: Any) -> bool:
    return token.is_punct or token.lower_ in CLAUSE_BREAKS


def _is_hedged(doc: Any, i: int) -> bool:
    """Whether token i is the "not" of "can't say"/"couldn't say" (`HEDGED`): a denial."""
    return (
        doc[i].lemma_ == "not"
        and i > 0
        and doc[i - 1].lower_ in INABILITY_HEADS
        and i + 1 < len(doc)
        and doc[i + 1].lower_ in HEDGED
    )


def _is_inability(doc: Any, i: int) -> bool:
    """Whether token i is (the negation of) "can't"/"cannot"/"won't"/"unable": a symptom, not a denial."""
    token = doc[i]
    if _is_hedged(doc, i):
        return False
    if token.lower_ in INABILITY_WORDS:
        return True
    return token.lemma_ == "not" and i > 0 and doc[i - 1].lower_ in INABILITY_HEADS


def _is_negation(doc: Any, i: int) -> bool:
    """Whether token i denies what follows: "no", "not"/"n't", "never", "without", "ruled out", ..."""
    token = doc[i]
    if _is_hedged(doc, i):
        return True  # "can't say i've noticed any"
    if i > 0 and doc[i - 1].lower_ in INABILITY_HEADS:
        return False  # "can't", "can no longer", "won't"
    if token.lower_ in NEGATION_WORDS or token.lower_.startswith("nothing"):
        return True
    if token.lemma_ == "not" or token.lower_ in {"not", "n't", "nt"}:
        return True
    return token.lower_ in RULED and i + 1 < len(doc) and doc[i + 1].lower_ == "out"


def is_denied(doc: Any, start: int, end: int) -> bool:
    """Whether the red-flag words doc[start:end] are denied by their clause.

    A negation cue (`NEGATION_WORDS`, "not"/"n't", "ruled out") up to `NEGATION_WINDOW` words before, in the
    same clause, denies them, unless the words between say it is uncertainty ("don't know if it's broken"),
    intensity ("never had such bad chest pain") or lost ability ("haven't been able to control my bladder"),
    or the clause says the patient can't do something ("can't walk without passing out"). A reassurance after
    them in the clause ("my bladder's fine") denies them too. Cues inside the span belong to the pattern
    ("can't feel my legs", "no feeling down there", "don't want to be alive") and are not denials.
    """
    first = start
    while first > 0 and start - first < NEGATION_WINDOW and not _is_break(doc[first - 1]):
        first -= 1
    before = range(first, start)
    if any(_is_inability(doc, i) for i in before):
        return False
    for i in before:
        if _is_negation(doc, i):
            between = {t.lower_ for t in doc[i + 1 : start]}
            if between & (UNCERTAINTY | INTENSIFIERS | ABILITY):
                continue
            return True
    if end < len(doc) and ELLIPTICAL_DENIAL.match(doc[end:].text.lower().replace("\u2019", "'")):
        return True  # "saddle numbness and i don't"
    for j in range(end, min(end + REASSURANCE_WINDOW, len(doc))):
        token = doc[j]
        if token.lower_ in RULED and j + 1 < len(doc) and doc[j + 1].lower_ == "out":
            return True  # "fracture was ruled out"
        if token.is_punct or token.lower_ in CLAUSE_BREAKS - {"and"} or _is_negation(doc, j):
            break  # "my bladder isn't fine" is no reassurance
        if token.lower_ in REASSURANCE_AFTER:
            return True
    return False


def _clause_text(doc: Any, start: int, end: int, breaks: Iterable[str] = ("but",)) -> str:
    """The text of the clause around doc[start:end]: punctuation and `breaks` end it."""
    stop = set(breaks)
    first = start
    while first > 0 and not (doc[first - 1].is_punct or doc[first - 1].lower_ in stop):
        first -= 1
    last = end
    while last < len(doc) and not (doc[last].is_punct or doc[last].lower_ in stop):
        last += 1
    return doc[first:last].text.lower()


def is_past(doc: Any, start: int, end: int, kind: str) -> bool:
    """Whether the red flag is a healed or treated event (`PAST_EVENT`) and nothing says it is new (`RECENT`)."""
    if kind in NEVER_HISTORY:
        return False
    clause = _clause_text(doc, start, end)
    return bool(PAST_EVENT.search(clause)) and not RECENT.search(clause)


def _sentence_text(doc: Any, start: int, end: int) -> str:
    """The text of the sentence around doc[start:end]: ".", "?", "!" and new lines end it."""
    stops = {".", "?", "!", "\n"}
    first = start
    while first > 0 and doc[first - 1].text not in stops:
        first -= 1
    last = end
    while last < len(doc) and doc[last].text not in stops:
        last += 1
    if last < len(doc):
        last += 1  # keep the "?"
    return doc[first:last].text.lower().replace("\u2019", "'")


def _clause_asks(doc: Any, end: int) -> bool:
    """Whether the clause that goes on after doc[end - 1] ends with a question mark."""
    for token in doc[end:]:
        if token.is_punct:
            return token.text.startswith("?")
    return False


def is_question_about_others(doc: Any, start: int, end: int, kind: str) -> bool:
    """Whether the red flag is in a question about people in general or about treatment (`GENERIC_QUESTION`)."""
    if kind in NEVER_HISTORY:
        return False
    sentence = _sentence_text(doc, start, end)
    if not sentence.rstrip().endswith("?"):
        return False
    if kind == "other_emergency" and doc[start].lower_ in FAINT_BASE and FAINT_AFTER_TREATMENT.search(sentence):
        return True
    return bool(GENERIC_QUESTION.search(sentence))


def is_idiom(doc: Any, start: int, end: int, kind: str) -> bool:
    """Whether "can't breathe" is a figure of speech: "...without my coffee lol" (`IDIOM_AFTER`, `JOKE`)."""
    if kind != "chest_breathing" or not any(t.lemma_ == "not" or t.lower_ in INABILITY_WORDS for t in doc[start:end]):
        return False
    after = doc[end:].text.lower()
    return bool(IDIOM_AFTER.match(after)) or (after.lstrip().startswith("without") and bool(JOKE.search(after)))


def is_worry(doc: Any, start: int, end: int, kind: str) -> bool:
    """Whether fainting or a fever is talked about as a possibility or is over, not reported (`FAINT_WORRY`)."""
    clause = _clause_text(doc, start, end)
    words = set(clause.split())
    if kind == "fever":
        return bool(words & FEVER_WORRY) or (bool(FEVER_PAST.search(clause)) and not RECENT.search(clause))
    if kind == "other_emergency" and doc[start].lower_ in FAINT_BASE:
        if words & FAINT_WORRY:
            return True
        return bool(words & FAINT_WORRY_QUESTION) and _clause_asks(doc, end)
    return False


def candidates(doc: Any) -> List[Candidate]:
    """Every RED_FLAG span of the doc, each kept or dropped with its reason."""
    found = []
    for ent in getattr(doc, "ents", ()):
        if ent.label_ != RED_FLAG_LABEL:
            continue
        kind = ent.ent_id_ or ent.label_
        reason = None
        if is_denied(doc, ent.start, ent.end):
            reason = "denied"
        elif is_past(doc, ent.start, ent.end, kind):
            reason = "past"
        elif is_worry(doc, ent.start, ent.end, kind):
            reason = "worry"
        elif is_question_about_others(doc, ent.start, ent.end, kind):
            reason = "question"
        elif is_idiom(doc, ent.start, ent.end, kind):
            reason = "idiom"
        found.append(Candidate(kind, ent.text, reason))
    return found


def reported_red_flags(doc: Any) -> List[str]:
    """The kinds of red flag the patient reports (candidates that are neither denied, past nor a worry)."""
    return [c.kind for c in candidates(doc) if c.kept]


def chronic_or_played_down(text: str) -> Optional[str]:
    """Why a classifier-only red_flag should not stand, if the text says so, else None.

    "chronic": long-standing pain (`CHRONIC`); "past": a healed or treated event (`PAST_EVENT`, nothing
    `RECENT`); "played_down": "it's just stiff", "aren't numb, just tired" (`PLAYED_DOWN...`); "reassured":
    "no problems with peeing", "feeling down there is normal" (`REASSURED`); "other_sense": chest as a gym
    session, a broken record, a swimming stroke (`GYM_SENSE`).
    """
    lowered = (text or "").lower().replace("\u2019", "'")
    if CHRONIC.search(lowered):
        return "chronic"
    if PAST_EVENT.search(lowered) and not RECENT.search(lowered):
        return "past"
    if PLAYED_DOWN.search(lowered) or PLAYED_DOWN_AFTER_NEGATION.search(lowered):
        return "played_down"
    if REASSURED.search(lowered):
        return "reassured"
    if GYM_SENSE.search(lowered):
        return "other_sense"
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagDetector(GraphComponent, IntentClassifier):
    """Sets `red_flag` for reported emergency symptoms; lowers a classifier-only `red_flag` for a stated reason."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # fallback_threshold: as the FallbackClassifier's in config.yml; a runner-up below it becomes nlu_fallback.
        return {"intent": RED_FLAG_INTENT, "ongoing_intent": ONGOING_PAIN_INTENT, "fallback_threshold": 0.30}

    def __init__(self, config: Dict[str, Any]) -> None:
        config = {**self.get_default_config(), **config}
        self.intent = config["intent"]
        self.ongoing_intent = config["ongoing_intent"]
        self.fallback_threshold = float(config["fallback_threshold"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        return cls({**cls.get_default_config(), **config})

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RedFlagDetector:
        return cls.create(config, model_storage, resource, execution_context)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.triage(message)
        return messages

    def triage(self, message: Message) -> None:
        """Red flag if one is reported; else lower a classifier-only red_flag when there is a reason to."""
        found = candidates(message.get(SPACY_DOCS[TEXT]))
        if any(c.kept for c in found):
            self._override(message)
            return
        intent = message.get("intent") or {}
        if intent.get("name") != self.intent:
            return  # the classifier's net stays as it is only when it says red_flag for no stated reason
        if found:
            self._demote(message, chronic=chronic_or_played_down(message.get(TEXT)) == "chronic")
            return
        reason = chronic_or_played_down(message.get(TEXT))
        if reason:
            self._demote(message, chronic=reason == "chronic")

    def _override(self, message: Message) -> None:
        top = {"name": self.intent, "confidence": 1.0}
        ranking: Optional[List[Dict[str, Any]]] = message.get("intent_ranking") or []
        others = [r for r in ranking if r.get("name") != self.intent]
        message.set("intent", top, add_to_output=True)
        message.set("intent_ranking", [top, *others][: max(len(ranking), 1)], add_to_output=True)

    def _demote(self, message: Message, chronic: bool) -> None:
        """Replace the classifier's red_flag: long-standing pain -> ongoing_pain; else the runner-up if it is
        confident enough (as the FallbackClassifier would have it), else ongoing_pain if the message is about
        pain ("no numbness, just a sore bum"), else nlu_fallback."""
        ranking: List[Dict[str, Any]] = message.get("intent_ranking") or []
        others = [r for r in ranking if r.get("name") not in {self.intent, FALLBACK_INTENT}]
        if chronic:
            score = next((r.get("confidence") for r in others if r.get("name") == self.ongoing_intent), None)
            top = {"name": self.ongoing_intent, "confidence": max(float(score or 0), self.fallback_threshold)}
        elif others and float(others[0].get("confidence") or 0) >= self.fallback_threshold:
            top = {"name": others[0]["name"], "confidence": float(others[0]["confidence"])}
        elif PAIN_WORDS.search((message.get(TEXT) or "").lower()):
            top = {"name": self.ongoing_intent, "confidence": self.fallback_threshold}
        else:
            top = {"name": FALLBACK_INTENT, "confidence": self.fallback_threshold}
        rest = [r for r in ranking if r.get("name") not in {top["name"], self.intent}]
        demoted = [r for r in ranking if r.get("name") == self.intent]
        message.set("intent", top, add_to_output=True)
        message.set("intent_ranking", [top, *rest, *demoted][: max(len(ranking), 1)], add_to_output=True)
