"""`allocate`: one block, the accounts of its group, and the decision explained.

The policies (`AllocationPolicy`) turn the eligible accounts into weights, and `split.py`
turns the weights into children in whole lots:
- `equal`: one each;
- `equity`: pro rata to each account's equity (an account whose equity is not known
  cannot be weighed and is left out, with the reason);
- `risk_budget`: pro rata to what is left of each account's daily risk budget;
- `ratios`: the weights the group's config names;
- `failover`: the first eligible account, in the group's order, takes all.
A block without a quantity (the signal asks the risk manager to size it) gets one child
per weighted account with no quantity: each is sized from its own account's equity and
risk by the same chain (`failover`: the first only).

The whole decision is one value, `Allocation`, which the audit's `allocation_decided`
line writes: every account with eligible or not and why, the policy, and each child's
quantity; a block with nothing to send carries its reason code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum

from ordergate.allocation.eligibility import AccountLimits, Eligibility, Standing, judge
from ordergate.allocation.split import Child, Dropped, split
from ordergate.domain.instrument import Instrument
from ordergate.pipeline.reasons import ReasonCode
from ordergate.records import record

ONE = Decimal(1)


class AllocationPolicy(StrEnum):
    EQUAL = "equal"
    EQUITY = "equity"
    RISK_BUDGET = "risk_budget"
    RATIOS = "ratios"
    FAILOVER = "failover"


@record
class Allocation:
    group: str
    policy: AllocationPolicy
    block: Decimal | None
    """The block's quantity truncated to the lot; None: each child is sized by risk."""
    accounts: tuple[Eligibility, ...]
    children: tuple[Child, ...]
    """In the group's order. A child's quantity is None-free here; for a block without a
    quantity `sized_by_risk` names the accounts instead."""
    sized_by_risk: tuple[str, ...]
    dropped: tuple[Dropped, ...]
    refused: ReasonCode | None

    def describe(self) -> str:
        """The `allocation_decided` reason: every account, then the outcome."""
        parts = [f"{e.account}: {'eligible' if e.eligible else 'not eligible'} ({e.why})"
                 for e in self.accounts]
        if self.refused is not None:
            outcome = f"refused {self.refused}"
        elif self.sized_by_risk:
            outcome = "children sized by risk: " + ", ".join(self.sized_by_risk)
        else:
            outcome = "children " + ", ".join(f"{c.account} {c.quantity}" for c in self.children)
        dropped = "".join(f"; dropped {d.account} {d.quantity}: {d.why}" for d in self.dropped)
        return f"group {self.group}, policy {self.policy}: " + "; ".join(parts) \
            + f"; {outcome}{dropped}"


def weights(policy: AllocationPolicy, eligible: Sequence[Eligibility],
            standings: Mapping[str, Standing], limits: Mapping[str, AccountLimits],
            ratios: Mapping[str, Decimal]) -> list[tuple[str, Decimal, str | None]]:
    """(account, weight, why not weighed) for each eligible account, in order."""
    out: list[tuple[str, Decimal, str | None]] = []
    for i, e in enumerate(eligible):
        standing = standings[e.account]
        if policy is AllocationPolicy.EQUAL:
            out.append((e.account, ONE, None))
        elif policy is AllocationPolicy.FAILOVER:
            out.append((e.account, ONE if i == 0 else Decimal(0), None))
        elif policy is AllocationPolicy.EQUITY:
            equity = standing.equity
            if equity is None or equity <= 0:
                out.append((e.account, Decimal(0), f"equity {equity}: cannot be weighed"))
            else:
                out.append((e.account, equity, None))
        elif policy is AllocationPolicy.RISK_BUDGET:
            left = standing.budget_left(limits[e.account])
            if left is None:
                out.append((e.account, Decimal(0), "no daily_risk_budget to weigh by"))
            else:
                out.append((e.account, left, None))
        else:
            out.append((e.account, ratios.get(e.account, Decimal(0)), None))
    return out


def allocate(group: str, policy: AllocationPolicy, accounts: Sequence[str],
             standings: Mapping[str, Standing], limits: Mapping[str, AccountLimits],
             quantity: Decimal | None, instrument: Instrument, price: Decimal | None,
             ratios: Mapping[str, Decimal] | None = None) -> Allocation:
    """Judge every account of the group, weigh the eligible, split the block."""
    judged = tuple(judge(a, limits[a], standings[a]) for a in accounts)
    eligible = [e for e in judged if e.eligible]
    weighed = weights(policy, eligible, standings, limits, ratios or {})
    # Eligible but not weighable: said so, in place of its admission figures.
    unweighed = {account: why for account, _, why in weighed if why is not None}
    if unweighed:
        judged = tuple(Eligibility(e.account, False, unweighed[e.account])
                       if e.account in unweighed else e for e in judged)
    positive = [(account, w) for account, w, _ in weighed if w > 0]
    if not positive:
        return Allocation(group, policy, None if quantity is None else
                          instrument.round_quantity(quantity), judged, (), (), (),
                          ReasonCode.ALLOCATION_NO_ELIGIBLE_ACCOUNT)
    if quantity is None:
        return Allocation(group, policy, None, judged, (),
                          tuple(account for account, _ in positive), (), None)
    result = split(quantity, positive, instrument, price)
    refused = None if result.children else ReasonCode.ALLOCATION_BELOW_MINIMUM
    return Allocation(group, policy, result.block, judged, result.children, (),
                      result.dropped, refused)
