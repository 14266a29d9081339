"""Keras layers of the paper's network."""

from alexnet_tf.layers.local_response_normalization import LRN_PRESETS, LocalResponseNormalization
from alexnet_tf.layers.towers import TowerConv2D, TowerDense, TowerMaxPooling2D, TowerStage

__all__ = [
    "LRN_PRESETS",
    "LocalResponseNormalization",
    "TowerConv2D",
    "TowerDense",
    "TowerMaxPooling2D",
    "TowerStage",
]
