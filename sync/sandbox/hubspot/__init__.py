"""The HubSpot sandbox: CRM v3 objects, search, batches, properties, v4 associations, OAuth.

``sandbox.HubSpotSandbox`` holds the portal (``records``, ``schema``, ``access`` for tokens and
rate limits) and ``app.create_app`` serves it at HubSpot's paths; ``reads``, ``writes`` and
``search`` are the endpoints' rules, ``errors`` HubSpot's error bodies.
"""
