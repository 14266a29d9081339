"""Serving AlexNet with the Triton Inference Server: server launcher and client library.

Nothing here imports TensorFlow: a client machine needs only `tritonclient` and NumPy.
The Triton repository template (`triton_model/`) is what `alexnet_tf.export` writes.
"""
