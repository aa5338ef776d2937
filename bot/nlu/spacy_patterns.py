"""Rule-based spaCy patterns for the clinic's own pipeline: ACC45 numbers, Read codes, body parts, red flags.

ACC45 and Read code shapes come from `bot.clinic.acc_codes`, so the format rules live in one place.
Red-flag patterns mark candidate emergency symptoms; `bot.nlu.red_flag_detector` drops the denied, past
and hypothetical ones and turns the rest into the `red_flag` intent whatever the classifier said. The patterns
are written for how patients type (typo families, "cant"/"cnt", kiwi English) and for the senses of words that
are not symptoms ("broke my PB", "chest day", "breast stroke"); tests/data/red_flags.yml measures both.
"""

from __future__ import annotations

from typing import Any, Dict, List

from bot.clinic.acc_codes import ACC45_FORMATS, ACC45_REGEX, READ_CODE_REGEX

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


def _re(expr: str) -> Dict[str, Any]:
    """A token whose lower-case text matches `expr` in full (typo families such as "bladdr", "bowles")."""
    return {"LOWER": {"REGEX": f"^(?:{expr})$"}}


# Words a pattern may skip: never punctuation (a pattern stays inside one clause) and never a negation, so
# "my legs aren't numb" does not match "legs ... numb" with the "n't" hidden inside the span, where the
# detector's negation scope could not see it.
_FILLER = {"IS_PUNCT": False, "LEMMA": {"NOT_IN": ["not", "no", "never", "nothing", "without", "nor"]}}


def _any(n: int) -> List[Dict[str, Any]]:
    """Up to `n` filler words (see `_FILLER`)."""
    return [{**_FILLER, "OP": "?"} for _ in range(n)]


_ANY = {**_FILLER, "OP": "*"}

# spaCy splits "can't" into "ca" + "n't", "cant"/"cnt" into "ca" + "nt" (lemma "not"), "cannot" into "can" +
# "not"; upper-case "CANT" stays one token. The negation is required: "I can pee normally" is fine. The
# negation is inside the pattern, so the detector never reads "can't feel my legs" as a denied symptom.
_CANT_VARIANTS = [
    [{"LOWER": {"IN": ["ca", "can", "could", "wo", "cant", "cnt"]}}, {"LEMMA": "not"}],
    [{"LOWER": {"IN": ["cant", "cnt", "cannot", "couldnt", "wont"]}}],
    [{"LOWER": "unable"}, {"LOWER": "to"}],
    [{"LOWER": "not"}, {"LOWER": "able"}, {"LOWER": "to"}],
    # "haven't been able to", "havent been able to", "not been able to"
    [{"LEMMA": "not"}, {"LOWER": "been"}, {"LOWER": "able"}, {"LOWER": "to"}],
    [{"LOWER": {"IN": ["can", "could"]}}, {"LOWER": "no"}, {"LOWER": "longer"}],
]


def _cant(*rest: Dict[str, Any]) -> List[List[Dict[str, Any]]]:
    """`rest` after every spelling of "can't" / "cannot" / "unable to" / "won't" / "can no longer"."""
    return [[*variant, *rest] for variant in _CANT_VARIANTS]


# Typo families: patients type fast, on a phone, often in pain.
BLADDER = r"bladd?e?r|blader|bladdr|bowels?|bowles?|bowell?s?"
TOILET = (
    r"pee|wee|poo|poos|urine|urinate|toilet|loo|bladd?e?r|bladdr|bowels?|bowles?|bowls|wees|pees|peeing|weeing|pooing|"
    r"urinating"
)
WET_MYSELF = (
    r"wet|wett?ing|pee|peed|pee'd|peeing|pe'd|piss|pissed|pissing|poo|pood|poo'd|pooed|pooing|poop|pooped|"
    r"soil|soiled|soiling|wee|weed|wee'd|weeing|shat"
)
MYSELF = ["myself", "meself", "myslef", "mysefl", "my", "himself", "herself"]
NUMB = r"numb|numm|nummb|numbb|numbd|numbness|numbnes|numbess|numness|numbish|tingl\w*|pins"
SADDLE_AREA = (
    r"groin|saddle|genital\w*|crotch|privates|private|privits|privites|privats|privet|privets|perineum|perenium|"
    r"anus|vagina|penis|testicles"
)
FEELING = r"feeling|feelin|feel|sensation|sensations"
LEGS = r"legs?|legz|legss|feet|foot|feets"
# Bones / body parts next to "broke": "broke my hip", "my pelvis is broken"; not "broke my PB", "I'm broke".
BONES = (
    r"hip|hips|pelvis|pelvic|leg|legs|femur|knee|kneecap|ankle|foot|feet|wrist|arm|elbow|shoulder|collarbone|"
    r"collar|rib|ribs|tailbone|coccyx|sacrum|spine|back|neck|hand|finger|toe|bone|bones|shin|tibia|fibula|jaw|"
    r"nose|skull|heel"
)
BROKE = r"broke|broken|brokn|broek|brocken|borken|broked|brokem|shattered"
FRACTURE = r"fractu\w*|fracter\w*|fractred|fracure\w*|frature\w*"
CHEST = r"chest|chst|chset|cheast|chets"
CHEST_FEELING = (
    r"pain|pains|pian|pians|payn|hurt|hurts|hurting|ache|aches|aching|tight|tightness|tite|pressure|"
    r"crushing|crushed|crushin|heavy|heaviness|squeez\w*|burning|stabbing"
)
CHEST_FEELING_BEFORE = r"pain|pains|pian|tightness|pressure|crushing|heaviness|squeez\w*|burning|stabbing|ache|aching"
BREATHE = r"breathe?|breath(?:e|ing|in)?|brea?the?|brethe|breth|breating|breahte|breathign|breate"
FAINT = (
    r"unconscious|unconcious|uncoscious|unconsious|faint|fainted|fainting|faints|fanted|feinted|fainded|"
    r"collaps\w*|collasp\w*|colaps\w*|unresponsive|paralys\w*|paralyz\w*|paralised"
)
SUICIDE = r"suicid\w*|sucid\w*|suicd\w*|suiside\w*"
FEVER = r"fever|feverish|fevers|fevr|feva|fevah|fver|feaver|fevor"
TEMPERATURE = r"temperature|temp|temprature|tempreture|temperture"
DET = {"LOWER": {"IN": ["my", "the", "a", "her", "his", "their", "me", "mums", "mum's", "dads", "dad's"]}, "OP": "?"}

# Each red flag is a list of token patterns. A pattern marks a candidate; the detector then drops candidates
# that are denied ("no numbness"), in the past ("a fracture I had last year that's healed") or a worry
# ("hope I don't pass out") — see bot/nlu/red_flag_detector.py.
RED_FLAGS: Dict[str, List[List[Dict[str, Any]]]] = {
    # Loss of bladder/bowel control (cauda equina). The bare organ word is a deliberately broad net; "no bladder
    # control" and "can't control my bowels" include their loss word, so they are never read as denied.
    "bladder_bowel": [
        [_re(BLADDER)],
        [{"LOWER": {"REGEX": "^incontin"}}],
        [_re(WET_MYSELF), {"LOWER": {"IN": MYSELF}}],
        *_cant(_re("control|controll|contol|hold|stop|tell|feel|sense|empty"), *_any(8), _re(TOILET)),
        *_cant(_re("pee|wee|urinate|poo")),
        [_re("no|lost|lose|losing|loss|zero"), _re("control|controll"), _re("of|over|on"), DET, _re(TOILET)],
        [_re("no|lost|lose|losing|zero"), _re(BLADDER), _re("control|controll")],
        # "haven't got control of my bowels", "hvnt got any control over my bladder", "don't have control of"
        [_re("hvnt|havnt|hvent|havent|dnt|dont"), _re("got|have|had"), {"LOWER": "any", "OP": "?"},
         _re("control|controll"), _re("of|over|on"), DET, _re(TOILET)],
        [_re("have|do|got|had"), {"LEMMA": "not"}, _re("got|have|had"), {"LOWER": "any", "OP": "?"},
         _re("control|controll"), _re("of|over|on"), DET, _re(TOILET)],
        [{"LOWER": {"REGEX": "^leak"}}, *_any(1), _re("urine|pee|wee|poo")],
        # "pee just coming out", "poo keeps leaking out"
        [_re("urine|pee|wee|poo|poos|wees|pees|piss"), *_any(2),
         _re(r"com\w*|leak\w*|dribbl\w*|pour\w*|gush\w*|run\w*|seep\w*"), {"LOWER": "out"}],
    ],
    # Saddle anaesthesia: numbness/tingling of the groin, genitals, perineum, "down there", "when I wipe".
    # "no feeling" is the symptom (the pattern includes "no"); "no numbness" is a denial.
    "saddle_numbness": [
        [_re(NUMB), _ANY, _re(SADDLE_AREA + "|inner")],
        [_re(SADDLE_AREA), _ANY, _re(NUMB)],
        [{"LOWER": "saddle"}, _re("anaesthesia|anesthesia|area|aera|region")],
        [_re(NUMB), *_any(3), {"LOWER": "between"}, {"LOWER": {"IN": ["my", "the"]}}, _re("legs|thighs|legz")],
        [_re(NUMB), *_any(2), _re("down|dwn"), {"LOWER": {"IN": ["there", "below"]}}],
        [_re(NUMB), *_any(1), _re("around|round"), DET, _re("bum|bottom|butt|backside|anus|arse")],
        *_cant(_re("feel|fel|feal"), *_any(3), _re(SADDLE_AREA + "|bum|bottom|butt")),
        [_re("no|lost|lose|losing|loss|zero"), *_any(1), _re(FEELING), *_any(4),
         _re(SADDLE_AREA + "|bum|bottom|butt|wipe|wiping")],
        [_re("no|lost|lose|losing|loss|zero"), *_any(1), _re(FEELING), {"LOWER": "at", "OP": "?"},
         {"LOWER": "all", "OP": "?"}, _re("down"), _re("there|below")],
        [_re("no|lost|lose|losing|loss|zero"), *_any(1), _re(FEELING), *_any(3), {"LOWER": "between"}, DET,
         _re("legs|thighs|legz")],
    ],
    # A suspected fracture or dislocation now: "broke"/"broken" only next to a bone or body part (not "broke my
    # personal best", "broken english", "I'm broke", "my car broke down"), and the signs of one: deformity,
    # a limb at an odd angle, can't bear weight or get up after a fall.
    "fracture_deformity": [
        [_re(FRACTURE)],
        [_re(BROKE + "|break|breaking|cracked|snapped"), DET, *_any(1), _re(BONES)],
        [_re(BROKE + "|break"), _re("something|anything|somthing")],
        [_re(BONES), *_any(3), _re(BROKE + "|cracked|snapped")],
        [_re("it|its|it's"), *_any(2), _re("is|'s|be|feels|looks|seems|prob|probably|definitely"), _re(BROKE)],
        [_re("bone|bones|hip|knee|leg|joint|kneecap|ankle|shoulder|elbow|wrist"), *_any(1),
         _re(r"sticking|stickin|stikin|stiking|poking|pokin|protruding|coming"), _re("out|through|thru")],
        [{"LOWER": {"REGEX": "^(deform|dislo|dislcoat)"}}],
        [_re("bent|bend|bending|twisted|facing|facin|pointing|turned|sticking"), _re("the|teh|a|th"), _re("wrong|rong"),
         _re("way|direction")],
        [_re("funny|weird|odd|strange|wrong|unnatural|crazy"), _re("angle|angles")],
        [_re("looks?|looked|looking|popped|pop|gone|went|is|'s"), {"LOWER": "out"}, {"LOWER": "of"},
         _re("place|joint|socket")],
        [_re("leg|legs"), *_any(2), _re("shorter|turned")],
        [_re("shorter"), _re("than"), _re("the|my|his|her"), _re("other")],
        [_re("leg|legs|knee|foot|ankle|arm|hip"), *_any(2), _re("twisted|twisting|turned|bent|pointing|facing"),
         _re("outwards|inwards|sideways|backwards|outward|inward")],
        *_cant(_re("stand|walk|step"), _re("on"), _re("that|my|the|it|his|her|this"),
               {"LOWER": {"IN": ["left", "right", "bad", "sore"]}, "OP": "?"}, _re(LEGS + "|it|leg")),
        [_re("heard|hear|herd"), _re("a|something|it|this"), *_any(1), _re("crack|snap|crunch|crak|pop")],
        *_cant(_re("put|bear|take"), *_any(2), _re("weight|wieght")),
        *_cant(_re("weight|wieght"), _re("bear|bearing")),
        *_cant(_re("walk|stand"), _re("or"), _re("stand|walk|put|bear")),
        [_re(BONES), *_any(1), _re("looks?|looking|looked"), _re("wrong|weird|funny|odd|wonky|misshapen|bent")],
        *_cant(_re("walk|stand"), _re("at"), _re("all")),
        *_cant(_re("get|stand"), {"LOWER": "up"}),
        [_re("hit|knocked|run|ran|struck|clipped|rammed"), *_any(4), {"LOWER": "by"}, DET,
         _re("car|truck|bus|ute|van|vehicle|train")],
    ],
    # Chest pain (heart attack) and difficulty breathing.
    "chest_breathing": [
        [_re(CHEST), *_any(2), _re(CHEST_FEELING)],
        [_re(CHEST_FEELING_BEFORE), *_any(1), _re("in|on|across|from|through|around|behind"), DET, _re(CHEST)],
        [_re(CHEST_FEELING_BEFORE), *_any(1), _re("in|on|across"), _re("the"), _re("middle|centre|center|front|left"),
         {"LOWER": "of"}, DET, _re(CHEST)],
        [_re("heart|hart|hearth"), _re("attack|atack|attak|attach")],
        *_cant(_re(BREATHE)),
        *_cant(_re("catch|get"), {"LOWER": {"IN": ["my", "a", "any"]}, "OP": "?"}, _re("breath|breathe|air")),
        [_re(r"barely|hardly|struggl\w*|trouble|difficulty|difficult|problems?|hard|labou?red"), *_any(2),
         _re(BREATHE)],
        [_re("short|shortness|shortnes|shortniss|shorness"), {"LOWER": "of", "OP": "?"}, _re("breath|breth|breathe")],
        [_re(r"gasp\w*"), *_any(1), _re("air|breath")],
        [_re("breathless|breathlessness")],
        [_re("lips?"), *_any(2), _re("blue")],
    ],
    # Fever (with pain, a possible infection): "fever", "a temperature", "temp of 39".
    "fever": [
        [_re(FEVER)],
        [{"LOWER": {"IN": ["high", "hi", "hgh", "a", "big"]}}, _re(TEMPERATURE)],
        [_re(TEMPERATURE), _re("of|is|at|'s|was"), {"LIKE_NUM": True}],
        [_re(TEMPERATURE), _re("is|'s|was"), *_any(1), _re("high|sky-high|through")],
    ],
    # Fainting or collapse, paralysis, stroke signs, heavy bleeding, overdose, no feeling/power in the legs.
    "other_emergency": [
        [_re(FAINT)],
        [_re("pass|passed|pased|pasd|passd|parsed|passing|past|black|blacked|blacking|knocked"), {"LOWER": "out"}],
        [_re(r"bleed\w*|bleedin"), _re("heavily|badly|heaps|lots|loads|everywhere|profusely|nonstop|alot")],
        [_re(r"bleed\w*|bleedin"), _re("a"), _re("lot|heap")],
        [_re("heavy|heavily"), _re(r"bleed\w*|bleedin")],
        # "bleeding through the bandage", "blood dripping on the floor", "soaked through the towel"
        [_re(r"bleed\w*|bleedin|bled|blood"), _re("through|thru|right"), *_any(2),
         _re(r"bandages?|dressings?|towels?|plasters?|gauze|tea|clothes|jeans|pants|shirt|sock|socks")],
        [_re("blood|bleeding|bleedin"), *_any(2), _re(r"dripp\w*|drippin|pooling|puddl\w*")],
        [_re(r"bleed\w*|bleedin|blood"), *_any(3), {"LEMMA": {"IN": ["will", "do", "wo"]}, "OP": "?"},
         {"LEMMA": "not"}, _re("stop|stopping")],
        *_cant(_re("stop"), {"LOWER": "the", "OP": "?"}, _re(r"bleed\w*|bleedin|blood")),
        [_re("blood"), *_any(2),
         _re("gushing|pouring|spurting|everywhere|evrywhere|everywere|evrywere|pumping|squirting")],
        [_re("gushing|pouring|spurting|pumping"), _re("blood")],
        [{"LOWER": "lots"}, {"LOWER": "of"}, {"LOWER": "blood"}],
        *_cant(_re("move|feel|fel|feal|lift"), {"LOWER": {"IN": ["my", "either", "both", "his", "her"]}, "OP": "?"},
               {"LOWER": {"IN": ["left", "right", "whole"]}, "OP": "?"}, _re(LEGS)),
        *_cant(_re("move|feel|wiggle|wriggle|lift"), DET, {"LOWER": {"IN": ["left", "right"]}, "OP": "?"},
               _re("toes|toe")),
        *_cant(_re("move|lift"), _re("either|both|any"), {"LOWER": "of"}, _re("them|my|his|her")),
        *_cant(_re("move|lift"), {"LOWER": {"IN": ["them", "it"]}}),
        *_cant(_re("feel|fel|feal|move"), *_any(2), {"LOWER": "waist"}, {"LOWER": "down"}),
        [_re("legs|legz"), *_any(2), _re("numb|weak|floppy|paralysed|paralyzed|useless|gave|giving|collapsed")],
        [_re("legs|legz"), *_any(2), _re("gone|went|going|suddenly"), *_any(1),
         _re("numb|weak|floppy|paralysed|paralyzed|useless|limp|dead")],
        [{"LOWER": "waist"}, {"LOWER": "down"}],
        [_re("weak|weakness|numb|numbness"), *_any(2), {"LOWER": "both"}, _re("legs|legz|feet")],
        [_re("legs?|foot|feet"), _re("wo|wont|will|wouldn't|wouldnt|would"), {"LEMMA": "not", "OP": "?"},
         _re("work|move|hold")],
        [_re("lost|lose|losing|loss"), {"LOWER": "of", "OP": "?"}, _re("consciousness|conciousness")],
        [_re(r"overdos\w*|od'd|od'ed")],
        # a hot, swollen calf (deep vein thrombosis)
        [_re("calf|calves"), *_any(4), _re("swollen|swelling")],
        [_re("took|taken|swallowed"), _re("too"), _re("many")],
        [_re("took|taken|swallowed|swallow|ate"), *_any(2), _re("whole|entire|full"),
         _re("packet|bottle|box|pack|strip")],
        [_re("not|n't|nt|isnt"), _re("responding|breathing")],
    ],
    # Stroke signs (FAST): a drooping face, slurred or jumbled speech, a weak arm, "having a stroke".
    "stroke": [
        [{"LOWER": {"IN": ["a", "having"]}}, _re("stroke")],
        [_re(r"droop\w*|slurr\w*")],
        [_re("face|mouth|lip|smile"), *_any(3), _re(r"dropp\w*|dropped|fallen|sagg\w*|lopsided|crooked")],
        [_re("speech|words|voice"), *_any(3),
         _re(r"funny|weird|strange|wrong|jumbled|garbled|muddled|mumbled|slurred|gibberish|slurry")],
        [_re("speaking|talking|talkin"), *_any(1), _re(r"funny|weird|strange|jumbled|garbled|gibberish|slurred")],
        *_cant(_re("talk|speak|tlk"), _re("properly|propa|proper|right|rite|straight|clearly|normally|at")),
        *_cant(_re(r"get|find"), DET, _re("words"), {"LOWER": "out", "OP": "?"}),
        [_re("arm|arms|hand|face"), *_any(2), _re("went|gone|goes|going|suddenly|all"), _re("weak|floppy|limp")],
    ],
    # Thoughts of suicide or self-harm. "don't want to be alive" carries its own negation inside the pattern.
    "suicidal": [
        [_re(SUICIDE)],
        [_re("kill|killing|killed|killin|kil|kilin"), _re("myself|meself|my self|myslef|mysefl")],
        [_re("thoughts?|thinking|think|urge|urges|want|wanting"), _re("of|about|to"), _re("hurting|harming|hurt|harm"),
         _re("myself|meself")],
        [_re(r"self-?harm\w*|selfharm\w*")],
        [{"LOWER": "self"}, {"LOWER": {"REGEX": "^-?harm"}}],
        [_re("end|ending|ended"), _re("my|it"), _re("life|all")],
        [_re("take|taking"), _re("my"), _re("own"), _re("life")],
        [{"LEMMA": "want"}, {"LOWER": "to"}, _re("die|dead")],
        [{"LEMMA": "not"}, {"LEMMA": "want"}, {"LOWER": "to"}, _re("live|exist")],
        [{"LEMMA": "not"}, {"LEMMA": "want"}, {"LOWER": "to"}, _re("be"), _re("alive")],
        [{"LEMMA": "not"}, {"LEMMA": "want"}, {"LOWER": "to"}, _re("wake"), _re("up")],
        [{"LEMMA": "not"}, {"LEMMA": "want"}, {"LOWER": "to"}, _re("go"), _re("on")],
        [{"LOWER": "better"}, {"LOWER": "off"}, _re("dead|gone")],
        # "everyone would be better off without me", "don't want to be here anymore", "wish i was dead"
        [{"LOWER": "better"}, {"LOWER": "off"}, {"LOWER": "without"}, _re("me|us")],
        [{"LEMMA": "not"}, {"LEMMA": "want"}, {"LOWER": "to"}, _re("be"), _re("here|around")],
        [_re("wish"), _re("i"), _re("was|were"), _re("dead|gone")],
        [_re("wish"), _re("i"), _re("was|were|wasnt|werent"), {"LEMMA": "not", "OP": "?"},
         _re("here|around|alive|born")],
        [_re("wish"), _re("i"), _re("could|would"), _re("disappear|die|vanish")],
        [_re("think|thinking|thought|thoughts"), _re("about|of"), _re("ending"), _re("it|things|everything")],
        [_re("no"), _re("reason|point"), {"LOWER": "to"}, _re("live|living|go")],
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
