"""Execution algorithms: a parent order carried out as journaled child orders."""
