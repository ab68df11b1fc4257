"""The Salesforce sandbox: OAuth, SOQL queries, sObject CRUD and collections, Bulk API 2.0, limits.

``sandbox.SalesforceSandbox`` holds the org (``records``, ``schema``, ``people`` for seeded data)
and ``app.create_app`` serves it at Salesforce's paths; ``auth`` the OAuth grants, ``query`` and
``soql`` / ``soql_eval`` the SOQL subset, ``collections`` and ``bulk`` their endpoints.
"""
