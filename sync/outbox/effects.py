"""What a batch's changes must tell other systems, decided once per process from settings and config.

Every path that reconciles records — webhooks through the inbox, CRM syncs, file ingests,
lifecycle automation, dead-letter replays — writes the same effects to the outbox in the
batch's own transaction (``sync.ingest.persist``): stage write-backs (respond.io), values and stages
a CRM lacks (``sync.crm.plan``), and conversions for the enabled ad-network destinations
(``sync.attribution.rules``). ``Effects.of(settings, config)`` enables exactly what has
credentials; ``Effects()`` enables nothing (conversion rules still shape stages and record
conversions, but nothing is queued).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sync.config.brands import ONE_BRAND, Brands
from sync.config.conversions import NO_RULES, ConversionRules
from sync.crm.plan import CrmTarget, crm_targets
from sync.outbox.targets import BrandConnection
from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config


@dataclass(frozen=True)
class Effects:
    """The outbox effects of reconciling a batch."""

    push_targets: frozenset[str] = frozenset()  # systems told about stage changes (sync.outbox.targets)
    crm_targets: tuple[CrmTarget, ...] = ()  # CRM connections told the values and stages they lack (sync.crm.plan)
    conversion_rules: ConversionRules = field(default=NO_RULES)  # conversions.yaml
    conversion_destinations: frozenset[str] = frozenset()  # destinations with credentials
    brands: Brands = ONE_BRAND  # brands.yaml: each brand's lifecycle, rules and destinations
    brand_push: tuple[BrandConnection, ...] = ()  # stage targets' connections of brands (sync.outbox.targets)

    @classmethod
    def of(cls, settings: Settings, config: Config) -> Effects:
        """Everything this deployment's credentials enable, with the config's conversion rules."""
        from sync.attribution.configure import enabled_destinations
        from sync.outbox.targets import CRM_CREDENTIALS, brand_connections, configured_connections, enabled_targets

        targets = enabled_targets(settings)
        connections = {system: configured_connections(settings, system) for system in CRM_CREDENTIALS}
        brands = getattr(config, "brands", None) or ONE_BRAND
        return cls(targets, crm_targets(config, targets, connections),
                   getattr(config, "conversions", None) or NO_RULES,
                   enabled_destinations(settings, config), brands, brand_connections(settings, brands))

    @classmethod
    def rules_only(cls, config: Config) -> Effects:
        """The config's conversion rules, nothing queued anywhere (tests, previews)."""
        return cls(conversion_rules=getattr(config, "conversions", None) or NO_RULES,
                   brands=getattr(config, "brands", None) or ONE_BRAND)
