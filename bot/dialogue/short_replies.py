"""Short replies as patients type them: acceptances ("yep", "go on then", "ae", "sweet as"), refusals
("nah", "not now", "yeah nah") and backing out of a form ("never mind", "leave it", "I'll sort it later").

One place for these word lists, used to read replies to offers and to back out of forms
(bot/dialogue/context.py); the answers to the ACC check's own yes / no question are read by `claim_answer` in
actions/acc_eligibility.py. A reply counts only when the whole message is such a
reply (after fillers and punctuation), so "yes, and do I need a referral?" is not read as a bare "yes".
"""

from __future__ import annotations

import re
import unicodedata

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
