"""Process-wide thread limits of TensorFlow and of numpy's BLAS library."""

from __future__ import annotations

import logging

import tensorflow as tf
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)


def limit_threads(tensorflow_threads: int) -> None:
    """Bound TensorFlow's thread pools and run numpy's BLAS on one thread.

    TensorFlow has one intra-op and one inter-op thread pool per process,
    created when the first operation runs, and its sizes cannot change
    after that. So the bound applies to every TensorFlow operation in the
    process (training, Evaluate and Predict batches on the TensorFlow path),
    and it must be set before any of them. Called later, it logs a warning
    and leaves TensorFlow's pools as they are.

    numpy's BLAS runs single-threaded because the numpy forward passes run
    on the event loop and on the inference threads, which already keep the
    cores busy. Extra BLAS threads would compete with them for the same
    cores.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(tensorflow_threads)
        tf.config.threading.set_inter_op_parallelism_threads(tensorflow_threads)
    except RuntimeError:
        logger.warning(
            "TensorFlow was already initialized, so its thread pools keep their "
            "sizes; the limit of %d threads takes effect only before the first "
            "TensorFlow operation of the process",
            tensorflow_threads,
        )
    else:
        logger.info(
            "TensorFlow thread pools: %d intra-op, %d inter-op threads",
            tensorflow_threads,
            tensorflow_threads,
        )
    threadpool_limits(limits=1, user_api="blas")
