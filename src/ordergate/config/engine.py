"""`EngineConfig`: every section together, and the checks that span sections (accounts
and groups against venues, each venue's own settings against reconciliation's accounts)."""

from __future__ import annotations

from pydantic import Field, ValidationError, model_validator

from ordergate.allocation.settings import AccountSettings, AllocationSettings, GroupSettings
from ordergate.config.base import Settings
from ordergate.config.journal import AuditSettings, JournalSettings
from ordergate.config.pipeline import (
    BracketSettings,
    ExecutorSettings,
    PipelineSettings,
    ReconcilerSettings,
    RiskSettings,
    StopSettings,
    ValidatorSettings,
)
from ordergate.config.reconciliation import ReconciliationSettings, RecoverySettings
from ordergate.config.server import ServerSettings
from ordergate.config.supervision import SupervisionSettings
from ordergate.config.venues import VenueSettings, adapter_settings_class


class EngineConfig(Settings):
    pipeline: PipelineSettings = PipelineSettings()
    validator: ValidatorSettings = ValidatorSettings()
    risk: RiskSettings = RiskSettings()
    executor: ExecutorSettings = ExecutorSettings()
    reconciler: ReconcilerSettings = ReconcilerSettings()
    brackets: BracketSettings = BracketSettings()
    stops: StopSettings = StopSettings()
    journal: JournalSettings = JournalSettings()
    recovery: RecoverySettings = RecoverySettings()
    reconciliation: ReconciliationSettings = ReconciliationSettings()
    audit: AuditSettings = AuditSettings()
    supervision: SupervisionSettings = SupervisionSettings()
    server: ServerSettings = ServerSettings()
    venues: dict[str, VenueSettings] = Field(
        default_factory=lambda: {"sim": VenueSettings(kind="simulated")}
    )
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)
    """`[accounts.NAME]`: accounts a group's blocks may go to (`allocation/settings.py`)."""
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    """`[groups.NAME]`: a signal whose `account_id` names one is a block over its accounts."""
    allocation: AllocationSettings = AllocationSettings()

    @model_validator(mode="after")
    def _groups_name_known_accounts(self) -> EngineConfig:
        for name, account in self.accounts.items():
            if account.venue is not None and account.venue not in self.venues:
                raise ValueError(f"accounts.{name}.venue: {account.venue!r} is not a "
                                 f"configured venue ({sorted(self.venues)})")
            venue = self.venues.get(account.venue) if account.venue is not None else None
            if venue is not None:  # a venue serving one account must serve this one
                served = getattr(adapter_settings_class(venue.kind).model_validate(
                    {"name": account.venue, **venue.adapter_fields()}), "account_id", None)
                if served is not None and served != name:
                    raise ValueError(
                        f"accounts.{name}.venue: {account.venue!r} trades for account "
                        f"{served!r} (venues.{account.venue}.account_id), not {name!r}: its "
                        "children would be sent on another account's key")
        for name, group in self.groups.items():
            if name in self.accounts:
                raise ValueError(f"groups.{name}: also an account's name; a signal naming it "
                                 "would be ambiguous")
            unknown = [a for a in group.accounts if a not in self.accounts]
            if unknown:
                raise ValueError(f"groups.{name}.accounts: {unknown} not configured as "
                                 "[accounts.NAME]")
        return self

    @model_validator(mode="after")
    def _venue_settings_are_valid(self) -> EngineConfig:
        """Check each venue's own settings now, so a typo fails the load, not the start.

        A venue serving one account (`account_id`: the ccxt and Polymarket adapters) must
        serve one of `reconciliation.accounts`: reconciliation reads and, on a cold start,
        adopts only those accounts' balances, so with any other the venue's holdings would
        never be compared or adopted (the shipped polymarket.toml had exactly this)."""
        for name, venue in self.venues.items():
            try:
                settings = adapter_settings_class(venue.kind).model_validate(
                    {"name": name, **venue.adapter_fields()})
            except ValidationError as exc:
                problems = "; ".join(f"venues.{name}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                     for e in exc.errors(include_url=False))
                raise ValueError(problems) from None
            account_id = getattr(settings, "account_id", None)
            accounts = self.reconciliation.accounts
            if account_id is not None and account_id not in accounts:
                raise ValueError(
                    f"venues.{name}.account_id: {account_id!r} is not among "
                    f"reconciliation.accounts {list(accounts)}: its balances would never be "
                    f"compared, nor adopted on a cold start; add it there")
        return self
