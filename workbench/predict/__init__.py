"""Structure prediction: one protocol, a registry, one module per backend."""

from workbench.predict.base import (
    Prediction,
    PredictionOutcome,
    Predictor,
    Provenance,
    available_predictors,
    get_predictor,
    register,
)

__all__ = [
    "Prediction",
    "PredictionOutcome",
    "Predictor",
    "Provenance",
    "available_predictors",
    "get_predictor",
    "register",
]
