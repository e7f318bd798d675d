"""Kerve server: a gRPC prediction service for named Keras models."""
