"""What operators and quants look at: the audit viewer (`audit_*`), the replay report
(`report/`) and the live dashboard (`dashboard/`). Views read what the engine wrote (the
audit log, the journal, the HTTP API); nothing below them imports a view."""
