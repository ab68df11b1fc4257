"""Conversions to ad networks: which stage changes are conversions, and telling each network about them.

- ``rules``: the pure engine applying conversions.yaml (types in ``sync.config.conversions``);
- ``facts``, ``hashing``, ``touch``, ``destination``, ``delivery``: what every network shares —
  the facts a payload is built from, user-data normalisation, touch selection, destination
  config and results, batching and bisection;
- ``network``: the ``Network`` a network module declares; ``networks/``: one module per ad
  network and the registry of them;
- ``configure`` (settings → destinations) and ``dispatch`` (outbox → network → deliveries).

Imports run one way: the shared modules import no network module; the network modules import
the shared ones; the registry (``networks/__init__``) imports the network modules; everything
else asks the registry. Nothing here imports Flask or rq.
"""
