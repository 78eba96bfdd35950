"""Replaying recorded signals against recorded quotes through the live pipeline."""
