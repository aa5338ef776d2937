"""Build the clinic's spaCy pipeline from this repo: blank English, lookup lemmatizer, EntityRuler.

No pretrained pipeline can be downloaded on these machines, so `make` runs
`python -m bot.nlu.build_spacy OUTPUT_DIR` and `config.yml` loads OUTPUT_DIR by path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy
from spacy.language import Language

from bot.nlu.spacy_patterns import all_patterns


def build() -> Language:
    """Return the blank English pipeline with the lookup lemmatizer and the clinic's patterns."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True, "validate": True})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    ruler.add_patterns(all_patterns())
    return nlp


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else ".build/spacy_en_clinic")
    nlp = build()
    out.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    print(f"spaCy pipeline written to {out} ({', '.join(nlp.pipe_names)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
