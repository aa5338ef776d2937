"""Short replies as patients type them: the one place that reads a yes, a no or a "don't know".

- Replies to an offer, the whole message being the reply (after fillers and punctuation), so "yes, and do I
  need a referral?" is not read as a bare "yes": acceptances ("yep", "go on then", "ae", "sweet as") and
  refusals ("nah", "not now", "yeah nah"), for bot/dialogue/context.py.
- Answers to a form's yes / no question ("Has ACC approved a claim?", "Shall I include your ACC details?"),
  read anywhere in the message together with the classifier's intent (affirm / deny / dont_know): `yes_no_answer`
  and `says_dont_know`, for the forms' validation actions (actions/acc_eligibility.py, actions/booking.py).
- Backing out of a form ("never mind", "leave it", "I'll sort it later"), for bot/dialogue/context.py.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

_FILLERS = r"(?:oh|um+|umm|hmm+|ah|ahh|well|right|ok so|so|haha|lol|kia ora|thanks|thank you|ta|cheers|mate|bro|e hoa)"
_ACCEPT_CORE = (
    r"y|ye|yes|yess+|yea|yeah|yeh|yep|yup|ya|yas|ae|aē|āe|sure|sure thing|ok|okay|okey|k|kk|okie|alright|all right|"
    r"righto|go on|go on then|go ahead|go for it|please|please do|yes please|yes please do|yes pls|pls|plz|"
    r"sounds good|sounds great|that sounds good|sounds good to me|that'?d be great|that would be great|"
    r"that'?d be good|great|perfect|cool|sweet|sweet as|choice|awesome|lovely|nice|absolutely|definitely|"
    r"of course|why not|sure why not|let'?s do it|lets do that|do it|book it|yes book it|book me in|"
    r"yes do that|do that|nah yeah|yeah nah yeah|i would|i'?d like that|i would like that|yes i would|"
    r"yes i do|i do|that works|works for me|keen|yeah keen|im keen|i'?m keen"
)
_REFUSE_CORE = (
    r"n|no|nope|nah|na|nay|no thanks|no thank you|nah thanks|no ta|not now|not right now|not at the moment|"
    r"not yet|maybe later|later|another time|not today|i'?m good|im good|all good|nah all good|i'?m ok|"
    r"no need|not really|i'?ll pass|pass|yeah nah|nah yeah nah|no worries|nah no worries|don'?t worry|"
    r"dont worry|that'?s ok|thats ok|that'?s all|that'?s it|no that'?s all|nothing|nothing else|i'?m fine|im fine"
)
_ACCEPT = re.compile(rf"^(?:{_FILLERS}\s+)*(?:{_ACCEPT_CORE})(?:\s+(?:{_FILLERS}|then|thx|thanks|please|pls))*$")
_REFUSE = re.compile(rf"^(?:{_FILLERS}\s+)*(?:{_REFUSE_CORE})(?:\s+(?:{_FILLERS}|then|thx|thanks|for now))*$")
# Backing out of the ACC check or the contact request, anywhere in the message.
_BACK_OUT = re.compile(
    r"\b(?:never\s*mind|nvm|leave it|leave that|forget (?:it|about it|that)|don'?t worry about it|"
    r"dont worry about it|i'?ll (?:sort|do|deal with|figure) (?:it|that|this|acc|the acc)(?: \w+)? later|"
    r"(?:sort|do) (?:it|that|acc) later|not now|another time|changed my mind|change of plan|"
    r"cancel(?: that| it| this)?|stop (?:this|it|asking)|i don'?t want to do this|skip (?:all )?this)\b"
)


def normalise(text: str) -> str:
    """Lower case, plain apostrophes, no punctuation or emoji, single spaces."""
    text = unicodedata.normalize("NFC", text or "").lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# "ok thx", "cool cheers", "great thanks": thanks for the answer, not a yes to what it offered.
_THANKS_FOR_IT = re.compile(
    r"^(?:ok|okay|k|kk|cool|great|sweet|sweet as|nice|lovely|awesome|perfect|all good|alright|righto)\s+"
    r"(?:thanks|thank you|thx|ta|cheers)(?:\s+\w+)?$"
)


def is_acceptance(text: str) -> bool:
    """"yes", "yep", "go on then", "sounds good", "ae", "yes book it", "sweet as": a whole-message yes."""
    said = normalise(text)
    return bool(_ACCEPT.match(said)) and not _THANKS_FOR_IT.match(said)


def is_refusal(text: str) -> bool:
    """"no thanks", "nah", "not now", "yeah nah", "maybe later": a whole-message no."""
    return bool(_REFUSE.match(normalise(text)))


def backs_out(text: str) -> bool:
    """"never mind", "nah leave it, I'll sort ACC later", "forget it": the patient wants to stop the form."""
    return bool(_BACK_OUT.search(normalise(text)))


# The answer to a form's yes / no question, anywhere in the message. The words win over the classifier
# ("no idea" read as `deny` is a don't-know, "not yet" read as `affirm` a no); "approved" / "declined" answer
# the ACC check's claim question.
YES, NO, DONT_KNOW = "yes", "no", "dont_know"
_ANSWER_INTENTS = {"affirm": YES, "deny": NO, "dont_know": DONT_KNOW}
_SAYS_YES = re.compile(r"\b(yes|yep|yeah|yup|ya|approved|accepted|it is|it has|sure|correct)\b", re.I)
_SAYS_NO = re.compile(
    r"\b(no|nope|nah|not yet|declined|rejected|pending|waiting|hasn't|has not|isn't|not approved)\b", re.I
)
_SAYS_DONT_KNOW = re.compile(r"\b(don'?t know|dunno|not sure|no idea|unsure|can'?t remember|skip|idk)\b", re.I)


def says_dont_know(intent: Optional[str], text: str) -> bool:
    """"I don't know", "no idea", "skip", or the `dont_know` intent (its button): the patient can't say."""
    return intent == "dont_know" or bool(_SAYS_DONT_KNOW.search(text or ""))


def yes_no_answer(intent: Optional[str], text: str) -> Optional[str]:
    """YES / NO / DONT_KNOW for the answer to a yes / no question, or None if the message is no such answer."""
    if says_dont_know(intent, text):
        return DONT_KNOW
    if _SAYS_NO.search(text or ""):
        return NO
    if intent in _ANSWER_INTENTS:
        return _ANSWER_INTENTS[intent]
    return YES if _SAYS_YES.search(text or "") else None
