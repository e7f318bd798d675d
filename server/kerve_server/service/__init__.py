"""Model service: registry, lifecycle, training runs and evaluation.

This layer does not import gRPC. The transport layer converts requests into
calls on ``ModelRegistry``, and its errors into status codes.
"""
