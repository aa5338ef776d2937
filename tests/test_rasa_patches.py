"""bot/rasa_patches.py (7): the intent classifier's weights stored column-major give the same probabilities."""

from __future__ import annotations

from types import SimpleNamespace

import numpy
import scipy.sparse
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from sklearn.linear_model import LogisticRegression

from bot import rasa_patches


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
