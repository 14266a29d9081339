"""alexnet_tf: the AlexNet paper (Krizhevsky, Sutskever & Hinton, NIPS 2012) in TensorFlow/Keras."""

from alexnet_tf.layers import LRN_PRESETS, LocalResponseNormalization
from alexnet_tf.models import build_alexnet, feature_model, probability_model

__all__ = [
    "LRN_PRESETS",
    "LocalResponseNormalization",
    "build_alexnet",
    "feature_model",
    "probability_model",
]
__version__ = "0.1.0"
