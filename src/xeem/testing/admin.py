"""A minimal admin HTTP client the harness uses to probe and seed its own API server.

Contract: requests are JSON in and out, authenticated with the run's admin client
certificate; ``request`` returns ``(status, body)`` and never raises on HTTP errors, only on
connection failures (``aiohttp.ClientError``, ``OSError``).
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp


class AdminClient:
    """JSON over HTTPS to one kube-apiserver as the harness's admin user."""

    def __init__(self, server: str, ca_cert: Path, cert: Path, key: Path) -> None:
        self.server = server
        self._ssl = ssl.create_default_context(cafile=str(ca_cert))
        self._ssl.load_cert_chain(str(cert), str(key))
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                timeout=aiohttp.ClientTimeout(total=10),
            )
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        async with self._session.request(
            method, self.server + path, data=data, headers=headers
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except json.JSONDecodeError:
                return response.status, text

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
