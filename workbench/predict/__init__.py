"""Structure prediction: one protocol, a registry, one module per backend."""

from workbench.predict.api import predict
from workbench.predict.base import (
    Prediction,
    PredictionOutcome,
    Predictor,
    PredictorInfo,
    PredictorOptions,
    Provenance,
    available_predictors,
    get_predictor,
    predictor_info,
    register,
)

__all__ = [
    "Prediction",
    "PredictionOutcome",
    "Predictor",
    "PredictorInfo",
    "PredictorOptions",
    "Provenance",
    "available_predictors",
    "get_predictor",
    "predict",
    "predictor_info",
    "register",
]
