"""Names of the tensors that the exported AlexNet model exchanges with its Triton clients.

A request carries exactly one of the two inputs, with a leading batch dimension:

- `IMAGE_BYTES`: BYTES `[batch, 1]`, encoded JPEG/PNG/GIF/BMP files. The server decodes
  them and applies the paper's test-time preprocessing (shorter side to 256, central
  256x256 crop, mean subtraction, centre crop or 10-crop averaging).
- `IMAGES`: FP32 `[batch, size, size, 3]`, images already preprocessed like the model's
  training input (RGB pixel values in 0-255 minus the training set's mean).

and may ask for either output:

- `PROBABILITIES`: FP32 `[batch, num_classes]` softmax probabilities. Its config names
  `labels.txt`, so Triton's classification extension returns `"score:index:label"`
  strings when a client asks for the top `k` classes.
- `FEATURES`: FP32 `[batch, fc7]` post-ReLU fc7 activations (4096 for the paper's
  widths), the paper's image-similarity features.

The Python backend's `model.py` repeats these names because it must run without this
package inside NVIDIA's Triton container.
"""

IMAGE_BYTES = "IMAGE_BYTES"
IMAGES = "IMAGES"
PROBABILITIES = "PROBABILITIES"
FEATURES = "FEATURES"
