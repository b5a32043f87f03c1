"""Name formats shared by the API models (patterns land in the CRD schema).

Contract: ``DNS1123_LABEL`` is the Kubernetes DNS-1123 label (lower-case alphanumerics and
``-``, at most 63 characters); ``INPUT_NAME`` is an identifier usable inside
``$(inputs.<name>)`` (letters, digits, ``_`` and ``-``, starting with a letter or ``_``).
"""

from __future__ import annotations

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_LABEL_MAX = 63
INPUT_NAME = r"^[A-Za-z_][-A-Za-z0-9_]*$"
INPUT_NAME_MAX = 63
