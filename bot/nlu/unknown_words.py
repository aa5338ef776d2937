"""Rasa NLU component: a message made of words never seen in training goes to the fallback.

A linear classifier still picks *some* intent for "blorp fizzwang quxx", often with a confident
score. This component remembers the training vocabulary and, when most words of a message are
neither known nor close to a known word (typos such as "acupunture" stay known), sets the intent
to `nlu_fallback` so the assistant asks to rephrase instead of answering something unrelated.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Dict, List, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_WORD = re.compile(r"[a-zāēīōū]+")
FALLBACK = "nlu_fallback"


def words(text: str) -> List[str]:
    return _WORD.findall((text or "").lower())


def unknown_share(text: str, vocabulary: Set[str], cutoff: float = 0.8) -> float:
    """Share of the message's words that are neither in `vocabulary` nor close to a word in it."""
    tokens = words(text)
    if not tokens:
        return 0.0
    unknown = [t for t in tokens if t not in vocabulary and not difflib.get_close_matches(t, vocabulary, 1, cutoff)]
    return len(unknown) / len(tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    """Sets `nlu_fallback` when at least `threshold` of a message's words are unknown."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.75, "similarity_cutoff": 0.8}

    def __init__(
        self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, vocabulary: Set[str]
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsFallback:
        return cls(config, model_storage, resource, set())

    def train(self, training_data: TrainingData) -> Resource:
        self.vocabulary = {w for example in training_data.intent_examples for w in words(example.get(TEXT))}
        with self._storage.write_to(self._resource) as directory:
            (directory / "vocabulary.json").write_text(json.dumps(sorted(self.vocabulary)))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        with model_storage.read_from(resource) as directory:
            vocabulary = set(json.loads((directory / "vocabulary.json").read_text()))
        return cls(config, model_storage, resource, vocabulary)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if (
                self.vocabulary
                and unknown_share(text, self.vocabulary, self.config["similarity_cutoff"]) >= self.config["threshold"]
            ):
                top = message.get("intent") or {}
                fallback = {"name": FALLBACK, "confidence": float(top.get("confidence") or 0.0)}
                message.set("intent", fallback, add_to_output=True)
                message.set("intent_ranking", [fallback, *(message.get("intent_ranking") or [])], add_to_output=True)
        return messages
