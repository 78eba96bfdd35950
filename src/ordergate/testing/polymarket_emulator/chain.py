"""The on-chain side of a trade: when a match is mined, confirmed or fails, and when the
balances move.

Polymarket matches off chain and settles on chain. A trade is `MATCHED` when the
operator matched it and sent it to be executed, `MINED` once its transaction is in a
block (no finality yet), `CONFIRMED` at strong probabilistic finality; a transaction that
fails is `RETRYING` while the operator resubmits it, and `FAILED` when it gives up (both
final states are terminal). What the CLOB reports *about the order* does not wait: its
`size_matched` and status (`MATCHED` once fully matched) count a match at once and are
not taken back when the trade later fails (py-clob-client-v2 issue 34, "ghost fills").
Balances (`/balance-allowance`) are the chain's: they move when the trade is mined, and
never for a trade that fails; until then what a pending trade will spend still counts
against what the account may place (the CLOB's "sum of matched orders").

Here a trade is mined `mine_delay_s` after its match and confirmed `confirm_delay_s`
after that (both 0 by default: final at once, as the emulator always was). A doomed trade
(`fail_trade`, `fail_next_trades`) shows `RETRYING` from when it would have been mined,
and `FAILED` from when it would have been confirmed; one doomed after it was mined (a
reorg) has its balance change reverted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordergate.testing.polymarket_emulator.records import ZERO, EmuAccount, EmuTrade, Leg

FINAL = frozenset({"CONFIRMED", "FAILED"})


@dataclass
class Chain:
    """Trade settlement over time; `sweep(now)` brings balances up to `now`."""

    mine_delay_s: float = 0.0
    confirm_delay_s: float = 0.0
    doom_next: int = 0
    """How many of the next trades will fail (`fail_next_trades`)."""
    pending: list[EmuTrade] = field(default_factory=list)
    """Trades not final yet, oldest first: what `sweep` still has to look at."""

    def status(self, trade: EmuTrade, now: float) -> str:
        mined_at = trade.matched_at + self.mine_delay_s
        final_at = mined_at + self.confirm_delay_s
        if now >= final_at:
            return "FAILED" if trade.doomed else "CONFIRMED"
        if now >= mined_at:
            return "RETRYING" if trade.doomed else "MINED"
        return "MATCHED"

    def last_update(self, trade: EmuTrade, now: float) -> float:
        """When the trade's status last changed."""
        mined_at = trade.matched_at + self.mine_delay_s
        final_at = mined_at + self.confirm_delay_s
        if now >= final_at:
            return final_at
        if now >= mined_at:
            return mined_at
        return trade.matched_at

    def matched(self, trade: EmuTrade) -> None:
        """A new trade, just matched: doomed if the test asked for it."""
        if self.doom_next > 0:
            self.doom_next -= 1
            trade.doomed = True
        self.pending.append(trade)

    def doom(self, trade: EmuTrade, now: float) -> None:
        if self.status(trade, now) in FINAL:
            raise ValueError(f"trade {trade.id} is already {self.status(trade, now)}")
        trade.doomed = True

    def sweep(self, now: float, accounts: dict[str, EmuAccount]) -> None:
        still: list[EmuTrade] = []
        for trade in self.pending:
            status = self.status(trade, now)
            on_chain = status in ("MINED", "CONFIRMED")
            if on_chain and not trade.settled:
                _apply(trade.legs, accounts, +1)
                trade.settled = True
            elif not on_chain and trade.settled:  # a reorg: the transaction is undone
                _apply(trade.legs, accounts, -1)
                trade.settled = False
            if status not in FINAL:
                still.append(trade)
        self.pending = still

    def unsettled_legs(self, api_key: str) -> list[Leg]:
        """Legs of the account's pending trades whose balance change has not happened."""
        return [leg for trade in self.pending if not trade.settled
                for leg in trade.legs if leg.api_key == api_key]


def _apply(legs: list[Leg], accounts: dict[str, EmuAccount], sign: int) -> None:
    for leg in legs:
        account = accounts.get(leg.api_key)
        if account is None:
            continue  # an account removed by the test: nobody to pay
        shares = leg.size * sign
        usdc = (leg.price * leg.size) * sign
        fee = leg.fee * sign
        held = account.tokens.get(leg.token_id, ZERO)
        if leg.side == "BUY":
            account.collateral -= usdc + fee
            account.tokens[leg.token_id] = held + shares
        else:
            account.collateral += usdc - fee
            account.tokens[leg.token_id] = held - shares
