"""Versions of the libraries that build, train and run the models."""

from __future__ import annotations

import keras
import tensorflow as tf


def library_versions() -> dict[str, str]:
    """Return the TensorFlow and Keras versions, keyed by library name."""
    return {"tensorflow": str(tf.__version__), "keras": str(keras.__version__)}
