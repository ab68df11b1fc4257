"""Meta's messaging webhooks: WhatsApp Cloud API, Messenger and Instagram.

- ``signature`` — ``X-Hub-Signature-256`` and the GET verification handshake, shared by all three;
- ``whatsapp`` — a WhatsApp delivery split into inbox events (messages, statuses, referrals,
  automatic events);
- ``messenger`` — Messenger and Instagram deliveries (one envelope) split into inbox events.

Imports only ``sync.connectors.events`` and the standard library. Conversions sent *to* Meta
live in ``sync.attribution.networks.meta``.
"""
