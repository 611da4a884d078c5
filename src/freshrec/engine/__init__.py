"""The real-time engine: durable event log, online state, per-event user encoding, retrieval, policy."""
