"""Environment that TensorFlow and Keras read once, when they are imported."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up banner (CPU features, oneDNN) goes to stderr on
# every start; level 2 keeps its warnings about real problems.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
