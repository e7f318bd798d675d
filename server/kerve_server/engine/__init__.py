"""Keras engine: the only part of Kerve that imports TensorFlow or Keras.

Importing this package sets ``KERAS_BACKEND`` (unless the environment chose
one) before Keras is imported, because Keras reads it once at import time.
"""

from kerve_server.engine import backend as _backend  # noqa: F401  (sets env first)
from kerve_server.engine.archives import (
    ArchiveError,
    archive_bytes,
    load_imported,
    spec_document_from_archive,
    weights_from_archive,
)
from kerve_server.engine.building import build_model, initial_weights
from kerve_server.engine.fitting import EpochReport, FitOptions, FitOutcome, fit
from kerve_server.engine.inference import CompiledModel
from kerve_server.engine.scoring import row_losses, score
from kerve_server.engine.threads import limit_threads
from kerve_server.engine.versions import library_versions

__all__ = [
    "ArchiveError",
    "CompiledModel",
    "EpochReport",
    "FitOptions",
    "FitOutcome",
    "archive_bytes",
    "build_model",
    "fit",
    "initial_weights",
    "library_versions",
    "limit_threads",
    "load_imported",
    "row_losses",
    "score",
    "spec_document_from_archive",
    "weights_from_archive",
]
