"""Google Ads conversions, through the Data Manager API (default) or the Google Ads API.

``NETWORK`` is the ``google`` network the registry finds; its ``transports`` are
``data_manager`` (``POST datamanager.googleapis.com/v1/events:ingest``, module
``data_manager``) and ``ads_api`` (``customers/{id}:uploadClickConversions``, module
``ads_api``), chosen per destination by ``LIFESYNC_GOOGLE_ADS_TRANSPORT`` (an unknown value is
a ``SettingsError`` naming the variable and the allowed values). What both share — settings,
ids, user-data rules, touches, the 90-day window — is in ``common``; the API versions with their
dates in ``versions``.
"""

from __future__ import annotations

from dataclasses import replace

from sync.attribution.networks.google import ads_api, data_manager
from sync.attribution.networks.google.common import TRANSPORTS

_BY_NAME = {"data_manager": data_manager.NETWORK, "ads_api": ads_api.NETWORK}
NETWORK = replace(data_manager.NETWORK, transports={name: _BY_NAME[name] for name in TRANSPORTS})
