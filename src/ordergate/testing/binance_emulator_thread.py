"""A `BinanceEmulator` (`binance_emulator.py`) on its own event loop in a daemon thread,
for sync tests that drive it through its thread-safe methods. Apart from the emulator,
which is the venue, because this is only one of three ways to run it (in-process, here,
or its own process: `binance_emulator_cli.py`)."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator


class BinanceEmulatorThread:
    """Runs a `BinanceEmulator` on its own event loop in a daemon thread, for sync tests.

        with BinanceEmulatorThread() as emu:   # emu is the BinanceEmulator
            ... emu.base_url ...
    """

    def __init__(self, emulator: BinanceEmulator | None = None, **kwargs: Any) -> None:
        if emulator is None:
            from ordergate.testing.binance_emulator import BinanceEmulator

            emulator = BinanceEmulator(**kwargs)
        self.emulator = emulator
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> BinanceEmulator:
        self._thread = threading.Thread(target=self._run, name="binance-emulator", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("binance emulator did not start in 10 s")
        if self._error is not None:
            raise RuntimeError("binance emulator failed to start") from self._error
        return self.emulator

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.emulator.start())
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.emulator.stop())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None
            self._thread = None

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def __enter__(self) -> BinanceEmulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

