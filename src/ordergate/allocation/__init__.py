"""Allocation of one signal (a block) across the accounts of a group (issue 11)."""
