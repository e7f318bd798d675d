"""Model service: registry, lifecycle, training runs and evaluation.

This layer knows nothing of gRPC; the transport layer converts requests into
calls on ``ModelRegistry`` and its errors into status codes.
"""
