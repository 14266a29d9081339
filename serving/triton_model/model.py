"""Triton Python-backend model that serves an exported AlexNet SavedModel with TensorFlow.

Copied by `alexnet_tf.export` into every version folder of the model repository, next
to `model.savedmodel/`. It imports only TensorFlow, NumPy and Triton's
`triton_python_backend_utils`, so the same folder runs in NVIDIA's Triton container.

Each `execute` call receives the requests the dynamic batcher gathered. Requests are
checked one by one, then all good requests of the same input kind run in ONE
TensorFlow call; the results are split back and returned one response per request, in
request order. A request the model cannot serve (no input or both inputs, empty image
bytes, bytes that do not decode) gets an error response of its own: when a batched call
fails, each of its requests is run alone so that only the bad ones fail.
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf
import triton_python_backend_utils as pb_utils

# Tensor names, as in serving/protocol.py and the model's config.pbtxt.
IMAGE_BYTES = "IMAGE_BYTES"
IMAGES = "IMAGES"
PROBABILITIES = "PROBABILITIES"
FEATURES = "FEATURES"
# SavedModel layout and signatures, as written by alexnet_tf.export.savedmodel.
SAVEDMODEL_DIR = "model.savedmodel"
ENCODED_SIGNATURES = {"center": "predict_encoded", "ten": "predict_encoded_ten_crop"}
IMAGES_SIGNATURE = "predict_images"
SIGNATURE_INPUTS = {IMAGE_BYTES: "encoded", IMAGES: "images"}
SIGNATURE_OUTPUTS = {PROBABILITIES: "probabilities", FEATURES: "features"}


class RequestError(ValueError):
    """A request that the model cannot serve."""


class TritonPythonModel:
    """AlexNet classification and fc7 features for Triton's Python backend."""

    def initialize(self, args):
        """Loads the SavedModel of this version and warms its signatures up.

        Args:
            args: dict of str. Triton's model arguments (`model_config`,
                `model_repository`, `model_version`, `model_instance_kind`,
                `model_instance_device_id`, ...).
        """
        config = json.loads(args["model_config"])
        names = {tensor["name"] for tensor in config["input"] + config["output"]}
        expected = {IMAGE_BYTES, IMAGES, PROBABILITIES, FEATURES}
        if names != expected:
            raise pb_utils.TritonModelException(
                f"config.pbtxt must declare the tensors {sorted(expected)}. "
                f"Received: tensors={sorted(names)}"
            )
        parameters = {
            key: value["string_value"] for key, value in config.get("parameters", {}).items()
        }
        crop = parameters.get("crop", "center")
        if crop not in ENCODED_SIGNATURES:
            raise pb_utils.TritonModelException(
                f"The `crop` parameter must be one of {sorted(ENCODED_SIGNATURES)}. "
                f"Received: crop={crop!r}"
            )
        threads = int(parameters.get("threads_per_instance", "0"))
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        _place(args["model_instance_kind"], int(args["model_instance_device_id"]))

        path = Path(args["model_repository"]) / args["model_version"] / SAVEDMODEL_DIR
        self._savedmodel = tf.saved_model.load(str(path))
        self._signatures = {
            IMAGE_BYTES: self._savedmodel.signatures[ENCODED_SIGNATURES[crop]],
            IMAGES: self._savedmodel.signatures[IMAGES_SIGNATURE],
        }
        size = next(t["dims"] for t in config["input"] if t["name"] == IMAGES)[0]
        warmup_image = tf.io.encode_png(tf.zeros([size, size, 3], tf.uint8)).numpy()
        self._predict(IMAGE_BYTES, np.array([warmup_image], dtype=object))
        self._predict(IMAGES, np.zeros([1, size, size, 3], np.float32))

    def execute(self, requests):
        """Serves the requests of one dynamic batch.

        Args:
            requests: list of pb_utils.InferenceRequest.

        Returns:
            One pb_utils.InferenceResponse per request, in request order.
        """
        responses = [None] * len(requests)
        groups = {IMAGE_BYTES: [], IMAGES: []}
        for index, request in enumerate(requests):
            try:
                kind, batch = _read(request)
            except RequestError as error:
                responses[index] = _error_response(str(error), pb_utils.TritonError.INVALID_ARG)
            else:
                groups[kind].append((index, batch))
        for kind, items in groups.items():
            for index, result in self._predict_group(kind, items):
                if isinstance(result, tf.errors.OpError):
                    code = (
                        pb_utils.TritonError.INVALID_ARG
                        if isinstance(result, tf.errors.InvalidArgumentError)
                        else pb_utils.TritonError.INTERNAL
                    )
                    responses[index] = _error_response(
                        f"Cannot serve the {kind} input: {_reason(result)}", code
                    )
                else:
                    wanted = requests[index].requested_output_names() or SIGNATURE_OUTPUTS
                    tensors = [pb_utils.Tensor(name, result[name]) for name in sorted(wanted)]
                    responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)
        return responses

    def _predict_group(self, kind, items):
        """Runs requests of one input kind in one call; on failure, each one alone.

        Returns:
            A list of `(request index, {output name: array} or tf.errors.OpError)`.
        """
        if not items:
            return []
        batches = [batch for _, batch in items]
        try:
            outputs = self._predict(kind, batches[0] if len(batches) == 1 else np.concatenate(batches))
        except tf.errors.OpError as error:
            if len(items) == 1:
                return [(items[0][0], error)]
            return [result for item in items for result in self._predict_group(kind, [item])]
        results, start = [], 0
        for index, batch in items:
            stop = start + len(batch)
            results.append((index, {name: value[start:stop] for name, value in outputs.items()}))
            start = stop
        return results

    def _predict(self, kind, batch):
        signature_outputs = self._signatures[kind](**{SIGNATURE_INPUTS[kind]: tf.constant(batch)})
        return {
            name: np.ascontiguousarray(signature_outputs[key].numpy())
            for name, key in SIGNATURE_OUTPUTS.items()
        }


def _read(request):
    """Returns `(input name, batch array)` of a request, or raises RequestError."""
    given = {
        name: tensor
        for name in (IMAGE_BYTES, IMAGES)
        if (tensor := pb_utils.get_input_tensor_by_name(request, name)) is not None
    }
    if len(given) != 1:
        raise RequestError(
            f"A request must carry exactly one of the inputs {IMAGE_BYTES} and {IMAGES}. "
            f"Received: inputs={sorted(given)}"
        )
    (name, tensor), = given.items()
    batch = tensor.as_numpy()
    if batch.shape[0] == 0:
        raise RequestError(f"The {name} input holds no images. Received: shape={batch.shape}")
    if name == IMAGES:
        return name, batch
    encoded = batch.reshape(-1)
    empty = [i for i, image in enumerate(encoded) if len(image) == 0]
    if empty:
        raise RequestError(
            f"{IMAGE_BYTES} must hold encoded image files; some are empty. "
            f"Received: empty_indices={empty}"
        )
    return name, encoded


def _reason(error):
    """The line of a TensorFlow error that says what went wrong, without graph details."""
    lines = [line.strip() for line in error.message.splitlines()]
    skip = ("Graph execution error", "Detected at node", "<stack traces", "[[")
    reasons = [line for line in lines if line and not line.startswith(skip)]
    return reasons[0] if reasons else lines[0]


def _error_response(message, code):
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message, code))


def _place(kind, device_id):
    """Runs this instance on its GPU for `KIND_GPU`, on the CPU otherwise.

    A GPU instance allocates GPU memory as it needs it, so that several instances (each
    one a process) can share a GPU.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if kind != "GPU":
        tf.config.set_visible_devices([], "GPU")
        return
    if device_id >= len(gpus):
        raise pb_utils.TritonModelException(
            f"A KIND_GPU instance needs GPU {device_id}, but TensorFlow sees {len(gpus)} "
            f"GPUs (is a CUDA build of TensorFlow installed?). Received: device_id={device_id}"
        )
    tf.config.set_visible_devices([gpus[device_id]], "GPU")
    tf.config.experimental.set_memory_growth(gpus[device_id], True)
