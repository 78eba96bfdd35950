"""What people look at: the audit viewer, the replay report, the live dashboard."""
