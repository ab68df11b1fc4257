"""A deterministic synthetic business (people and vendor-shaped records) for demos and benchmarks."""

from sync.demo.business import Business, generate_business, hubspot_contact_changes, hubspot_contact_stream
from sync.demo.people import Ad, AdClick, Person, people

__all__ = ["Ad", "AdClick", "Business", "Person", "generate_business", "hubspot_contact_changes",
           "hubspot_contact_stream", "people"]
