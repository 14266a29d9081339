"""The paper's network and the models derived from it."""

from alexnet_tf.models.alexnet import build_alexnet, feature_model, pool5_size, probability_model

__all__ = ["build_alexnet", "feature_model", "pool5_size", "probability_model"]
