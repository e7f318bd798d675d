"""gRPC transport: servicers, conversion of messages and the status table."""
