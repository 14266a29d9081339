"""Deployment: SavedModels with serving signatures, written into Triton model repositories."""

from alexnet_tf.export.model_dir import export_model_dir
from alexnet_tf.export.repository import (
    ServingConfig,
    export_to_triton,
    model_versions,
    render_config,
)
from alexnet_tf.export.savedmodel import (
    SIGNATURE_ENCODED,
    SIGNATURE_ENCODED_TEN_CROP,
    SIGNATURE_IMAGES,
    preprocessing_sizes,
    save_serving_model,
    serving_outputs_model,
)

__all__ = [
    "SIGNATURE_ENCODED",
    "SIGNATURE_ENCODED_TEN_CROP",
    "SIGNATURE_IMAGES",
    "ServingConfig",
    "export_model_dir",
    "export_to_triton",
    "model_versions",
    "preprocessing_sizes",
    "render_config",
    "save_serving_model",
    "serving_outputs_model",
]
