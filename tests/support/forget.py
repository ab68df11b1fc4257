"""The values of Ana (``support.contacts.build_ana``) to grep a database dump for (``sync.privacy.verify``)."""

from __future__ import annotations

from sync.privacy.verify import found_in

__all__ = ["ANA_VALUES", "found_in"]

# Ana's values as her records carry them (build_ana): e-mail, WhatsApp number, names, CRM ids, message id
ANA_VALUES = ("ana.lopez@example.com", "447911123456", "Ana María", "López", "00Q5g00000A1b2CEAR",
              "wamid.HBgMNDQ3OTExMTIzNDU2")
