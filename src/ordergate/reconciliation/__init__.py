"""Reconciliation with the venue as a whole, beyond following our own orders one by one
(`pipeline/reconcile.py`):

- `cold_start.py`: an engine starting on an empty journal takes over what the venue
  already holds (open orders, balances) instead of believing it holds nothing;
- `drift_check.py`: at start and every `reconciliation.interval_s`, the venue's open
  orders and balances are compared with the journal and the positions. A disagreement
  that following orders cannot explain is drift: audited, counted, and by policy it
  moves the trading state to HALTED.
"""
