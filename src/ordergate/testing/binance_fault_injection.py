"""The Binance emulator's fault levers, what a test scripts through the Python API: each
a `Fault` (`binance_faults.py`) for the next matching requests, a delayed answer
(`delay_next`), a status answered without processing (`fail_next`), a dropped connection
(`drop_next`), or any `Fault` (`inject_fault`); `clear_faults` ends them all.
`/_admin/faults` injects and clears them over HTTP (`binance_admin.py`), the middleware
takes and applies them (`binance_middleware.py`). Apart from the emulator so that the
scripted failures are read in one place, apart from its state and the rest of its
test-facing API; `BinanceEmulator` has them as a base class (`FaultInjection`)."""

from __future__ import annotations

import threading

from ordergate.testing.binance_faults import Fault


class FaultInjection:
    """The fault levers of `BinanceEmulator`, which holds the lock and the faults; each
    takes the lock."""

    _lock: threading.RLock
    _faults: list[Fault]
    """The faults injected and not cleared, in the order injected: what the middleware
    matches each request against."""

    def inject_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
            return fault

    def delay_next(self, method: str, path: str, seconds: float, *, count: int = 1,
                   after_processing: bool = True, detached: bool = False,
                   api_key: str | None = None) -> Fault:
        """Delay the answer to the next `count` matching requests by `seconds` (by default
        after the request took effect: the client times out but the order exists).
        Before processing, `detached` has the request take effect after the delay even if
        the client has gone (see `Fault`)."""
        return self.inject_fault(Fault(method, path, "delay", count=count, delay_s=seconds,
                                       after_processing=after_processing, detached=detached,
                                       api_key=api_key))

    def fail_next(self, method: str, path: str, status: int = 503, *, count: int = 1,
                  retry_after: float | None = None, body: str | None = None,
                  api_key: str | None = None) -> Fault:
        """Answer the next `count` matching requests with `status`, without processing
        (`api_key`: only those signed with that key)."""
        return self.inject_fault(Fault(method, path, "status", count=count, status=status,
                                       retry_after=retry_after, body=body,
                                       after_processing=False, api_key=api_key))

    def drop_next(self, method: str, path: str, *, count: int = 1,
                  after_processing: bool = False, api_key: str | None = None) -> Fault:
        """Close the connection without an answer, before (default) or after processing."""
        return self.inject_fault(Fault(method, path, "drop", count=count,
                                       after_processing=after_processing, api_key=api_key))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
