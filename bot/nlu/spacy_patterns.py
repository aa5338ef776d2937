"""Rule-based spaCy patterns for the clinic's own pipeline: ACC45 numbers, Read codes, body parts, red flags.

ACC45 and Read code shapes come from `bot.acc_codes`, so the format rules live in one place.
Red-flag patterns mark emergency symptoms; `bot.nlu.red_flag_detector` turns them into the
`red_flag` intent whatever the classifier said.
"""

from __future__ import annotations

from typing import Any, Dict, List

from bot.acc_codes import ACC45_FORMATS, ACC45_REGEX, READ_CODE_REGEX

Pattern = Dict[str, Any]


def _regex(expr: str) -> Dict[str, Any]:
    return {"TEXT": {"REGEX": f"(?i)^(?:{expr})$"}}


def _acc45_patterns() -> List[Pattern]:
    one_token = [_regex(ACC45_REGEX)]
    two_tokens = [[_regex(a), _regex(b)] for a, b in ACC45_FORMATS]
    return [{"label": "ACC45", "pattern": p} for p in [one_token, *two_tokens]]


def _read_code_patterns() -> List[Pattern]:
    # spaCy may split trailing dots off ("S57" + ".."), so accept the code as one token or code + dots.
    return [
        {"label": "READ_CODE", "pattern": [_regex(READ_CODE_REGEX)]},
        {
            "label": "READ_CODE",
            "pattern": [
                {"TEXT": {"REGEX": r"(?i)^(?=.?\d)[A-Z0-9]{1,4}$"}},
                {"TEXT": {"REGEX": r"^\.{1,4}$"}},
            ],
        },
    ]


BODY_PARTS = [
    "glute",
    "glutes",
    "gluteal",
    "gluteus",
    "gluteus maximus",
    "gluteus medius",
    "gluteus minimus",
    "buttock",
    "butt",
    "bum",
    "backside",
    "hip",
    "pelvis",
    "sacrum",
    "coccyx",
    "tailbone",
    "thigh",
    "hamstring",
    "lower back",
    "leg",
    "knee",
    "groin",
    "sciatic nerve",
    "it band",
    "iliotibial band",
    "piriformis",
]


def _body_part_patterns() -> List[Pattern]:
    return [{"label": "BODY_PART", "pattern": [{"LEMMA": word} for word in phrase.split()]} for phrase in BODY_PARTS]


# spaCy splits "can't" into "ca" + "n't" and "cannot" into "can" + "not".
CANT = [{"LOWER": {"IN": ["ca", "can", "cant", "cannot"]}}, {"LOWER": {"IN": ["n't", "nt", "not", "'t"]}, "OP": "?"}]

# Each red flag is a list of token patterns; LEMMA makes "numbness"/"numb", "wetting"/"wet" etc. match.
RED_FLAGS: Dict[str, List[List[Dict[str, Any]]]] = {
    "bladder_bowel": [
        [{"LOWER": {"REGEX": "^(bladder|bowel|bowels)$"}}],
        [{"LOWER": {"REGEX": "^incontinen"}}],
        [{"LEMMA": {"IN": ["wet", "pee", "piss", "poo", "soil"]}}, {"LOWER": {"IN": ["myself", "meself", "my"]}}],
        [*CANT, {"LEMMA": {"IN": ["pee", "wee", "urinate"]}}],
    ],
    "saddle_numbness": [
        [
            {"LOWER": {"REGEX": "^(numb|numbness|tingl)"}},
            {"OP": "*", "IS_PUNCT": False},
            {"LOWER": {"REGEX": "^(groin|saddle|genital|crotch|privates|inner)"}},
        ],
        [
            {"LOWER": {"REGEX": "^(groin|saddle|genital|crotch|privates)"}},
            {"OP": "*", "IS_PUNCT": False},
            {"LOWER": {"REGEX": "^(numb|tingl)"}},
        ],
        [{"LOWER": "saddle"}, {"LOWER": {"REGEX": "^(anaesthesia|anesthesia|area)$"}}],
        [
            {"LOWER": {"REGEX": "^(numb|numbness|tingl)"}},
            {"OP": "*", "IS_PUNCT": False},
            {"LOWER": "between"},
            {"LOWER": {"IN": ["my", "the"]}},
            {"LOWER": {"IN": ["legs", "thighs"]}},
        ],
        [*CANT, {"LEMMA": "feel"}, {"OP": "?"}, {"LOWER": {"REGEX": "^(groin|genital|crotch|privates|leg|legs)$"}}],
    ],
    "fracture_deformity": [
        [{"LOWER": {"REGEX": "^(fractur|broke|broken)"}}],
        [{"LOWER": "bone"}, {"LOWER": {"IN": ["sticking", "poking"]}}],
        [{"LOWER": {"REGEX": "^(deform|dislocat)"}}],
        [
            {"LOWER": {"IN": ["bent", "twisted"]}},
            {"LOWER": {"IN": ["the", "a"]}, "OP": "?"},
            {"LOWER": "wrong"},
            {"LOWER": "way"},
        ],
    ],
    "chest_breathing": [
        [{"LOWER": "chest"}, {"LOWER": {"REGEX": "^(pain|pains|tight|tightness|pressure|hurts?|aches?)$"}}],
        [{"LOWER": "heart"}, {"LOWER": "attack"}],
        [*CANT, {"LOWER": {"IN": ["breathe", "breath", "breathing"]}}],
        [{"LOWER": {"IN": ["barely", "hardly"]}}, {"LOWER": {"IN": ["breathe", "breath", "breathing"]}}],
        [{"LOWER": {"IN": ["short", "shortness"]}}, {"LOWER": "of", "OP": "?"}, {"LOWER": "breath"}],
    ],
    "fever": [
        [{"LOWER": {"REGEX": "^(fever|feverish)$"}}],
        [{"LOWER": {"IN": ["high", "a"]}}, {"LOWER": "temperature"}],
    ],
    "other_emergency": [
        [{"LOWER": {"REGEX": "^(unconscious|paralys|paralyz|stroke|faint|collaps)"}}],
        [{"LEMMA": {"IN": ["pass", "black"]}}, {"LOWER": "out"}],
        [{"LOWER": {"IN": ["bleeding"]}}, {"LOWER": {"IN": ["heavily", "badly", "a"]}}],
        [
            *CANT,
            {"LEMMA": {"IN": ["move", "feel"]}},
            {"LOWER": {"IN": ["my", "either", "both"]}},
            {"LOWER": {"IN": ["legs", "feet", "leg", "foot"]}},
        ],
        [{"LOWER": {"IN": ["suicide", "suicidal"]}}],
        [{"LOWER": "kill"}, {"LOWER": {"IN": ["myself", "meself"]}}],
    ],
}


def _red_flag_patterns() -> List[Pattern]:
    return [
        {"label": "RED_FLAG", "id": kind, "pattern": pattern}
        for kind, patterns in RED_FLAGS.items()
        for pattern in patterns
    ]


def all_patterns() -> List[Pattern]:
    """Every EntityRuler pattern of the clinic pipeline."""
    return [*_acc45_patterns(), *_read_code_patterns(), *_body_part_patterns(), *_red_flag_patterns()]
