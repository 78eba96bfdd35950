"""The ordered handler chain: validator -> risk manager -> executor -> reconciler."""
