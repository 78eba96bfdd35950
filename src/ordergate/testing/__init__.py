"""Venue emulators and fault injection, used by the tests and the crash test."""
