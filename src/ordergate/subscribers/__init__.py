"""Subscribers to the event bus: positions, the audit log, metrics, the run summary."""
