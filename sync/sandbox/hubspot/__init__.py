"""The HubSpot sandbox: CRM objects, search, batches, properties, associations, lists, GDPR delete, OAuth.

``sandbox.HubSpotSandbox`` holds the portal (``records``, ``schema``, ``access`` for tokens and
rate limits, ``validation_rules``) and ``app.create_app`` serves it at HubSpot's paths, the
date-based ones (``/crm/objects/2026-09/…``) and the legacy ones (``/crm/v3``, ``/crm/v4``);
``reads``, ``writes`` and ``search`` are the endpoints' rules, ``rules`` the portal's validation
rules (enforced from 2026-09), ``errors`` HubSpot's error bodies.
"""
