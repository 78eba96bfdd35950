"""Orders that carry on after the decision that made them: contingent orders and execution algorithms."""
