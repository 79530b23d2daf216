"""Watching the lab live: one collector of the cluster's state (``collector``), read by the terminal view
(``terminal``, ``invoke watch``) and the local web dashboard (``web``, ``invoke dashboard``).

``state`` is the pure half: what is up, down, joining or stalled, from recorded ``kubectl``/``nodetool``/``/acks``
outputs; ``history`` reads what earlier commands left under artifacts/ and reports/.
"""
