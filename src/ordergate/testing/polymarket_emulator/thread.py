"""`EmulatorThread`: the emulator on its own event loop, for synchronous callers."""

from __future__ import annotations

import asyncio
import threading

from ordergate.testing.polymarket_emulator.emulator import PolymarketEmulator

# ---------------------------------------------------------------- a thread runner


class EmulatorThread:
    """Run an emulator on its own event loop in a daemon thread, for synchronous code.

    >>> runner = EmulatorThread(PolymarketEmulator()); emu = runner.start(); ...; runner.stop()
    """

    def __init__(self, emulator: PolymarketEmulator | None = None) -> None:
        self.emulator = emulator or PolymarketEmulator()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout_s: float = 5.0) -> PolymarketEmulator:
        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.emulator.start())
            except BaseException as exc:  # pragma: no cover - surfaced to the caller
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.emulator.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="polymarket-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the emulator did not start in time")
        if self._error is not None:
            raise RuntimeError("the emulator failed to start") from self._error
        return self.emulator

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
            self._thread = None
            self._loop = None

    def __enter__(self) -> PolymarketEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
