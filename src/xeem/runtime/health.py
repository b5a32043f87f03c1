"""The probe and metrics HTTP server: ``/healthz``, ``/readyz``, ``/metrics``.

Checks are named callables returning a bool (or raising). ``/healthz`` and ``/readyz``
answer 200 ``ok`` when all their checks pass, else 500 listing the failures; with
``?verbose`` every check is listed. Sub-paths (``/readyz/informers``) run one check.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Check = Callable[[], bool | Awaitable[bool]]


def parse_bind(address: str) -> tuple[str, int]:
    """``":8081"``, ``"127.0.0.1:0"`` -> (host, port); ``0`` picks a free port."""
    host, _, port = address.rpartition(":")
    return host or "0.0.0.0", int(port)


class HealthServer:
    def __init__(
        self,
        bind: str = ":8081",
        *,
        registry: CollectorRegistry | None = None,
        serve_probes: bool = True,
    ) -> None:
        self.host, self.port = parse_bind(bind)
        self.registry = registry
        self.serve_probes = serve_probes
        self.healthz: dict[str, Check] = {}
        self.readyz: dict[str, Check] = {}
        self._runner: web.AppRunner | None = None

    def add_healthz_check(self, name: str, check: Check) -> None:
        self.healthz[name] = check

    def add_readyz_check(self, name: str, check: Check) -> None:
        self.readyz[name] = check

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def _app(self) -> web.Application:
        app = web.Application()
        if self.serve_probes:
            app.router.add_get("/healthz", self._probe(self.healthz))
            app.router.add_get("/healthz/{check}", self._probe(self.healthz))
            app.router.add_get("/readyz", self._probe(self.readyz))
            app.router.add_get("/readyz/{check}", self._probe(self.readyz))
        if self.registry is not None:
            app.router.add_get("/metrics", self._metrics)
        return app

    def _probe(
        self, checks: dict[str, Check]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            only = request.match_info.get("check")
            if only is not None and only not in checks:
                return web.Response(status=404, text=f"no check named {only}\n")
            lines: list[str] = []
            failed = False
            for name, check in checks.items():
                if only is not None and name != only:
                    continue
                try:
                    result = check()
                    ok = bool(await result) if inspect.isawaitable(result) else bool(result)
                    reason = ""
                except Exception as e:  # a failing check is a failed probe, not a crash
                    ok, reason = False, f": {e}"
                failed |= not ok
                lines.append(f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed' + reason}")
            verbose = "verbose" in request.query
            if failed:
                return web.Response(status=500, text="\n".join(lines) + "\nfailed\n")
            return web.Response(text=("\n".join(lines) + "\nok\n") if verbose else "ok")

        return handler

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        assert self.registry is not None
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        if self.port == 0:
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
