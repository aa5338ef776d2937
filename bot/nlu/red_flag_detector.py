"""Rasa NLU component that makes emergency symptoms win over any other intent.

The clinic's spaCy pipeline marks red-flag phrases (see `bot.nlu.spacy_patterns.RED_FLAGS`) as
RED_FLAG entities. When a message has one, this component sets the intent to `red_flag` with full
confidence, so the urgent-care advice comes first even if the classifier preferred an FAQ. The
classifier's own `red_flag` examples remain a second net for phrasings the patterns miss.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

RED_FLAG_INTENT = "red_flag"
RED_FLAG_LABEL = "RED_FLAG"


def red_flag_kinds(doc: Any) -> List[str]:
    """The kinds of red flag (pattern ids) found in a spaCy doc, in order of appearance."""
    return [ent.ent_id_ or ent.label_ for ent in getattr(doc, "ents", ()) if ent.label_ == RED_FLAG_LABEL]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagDetector(GraphComponent, IntentClassifier):
    """Overrides the intent with `red_flag` when the spaCy patterns found emergency symptoms."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"intent": RED_FLAG_INTENT}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.intent = config.get("intent", RED_FLAG_INTENT)

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
            kinds = red_flag_kinds(message.get(SPACY_DOCS[TEXT]))
            if kinds:
                self._override(message)
        return messages

    def _override(self, message: Message) -> None:
        top = {"name": self.intent, "confidence": 1.0}
        ranking: Optional[List[Dict[str, Any]]] = message.get("intent_ranking") or []
        others = [r for r in ranking if r.get("name") != self.intent]
        message.set("intent", top, add_to_output=True)
        message.set("intent_ranking", [top, *others][: max(len(ranking), 1)], add_to_output=True)
