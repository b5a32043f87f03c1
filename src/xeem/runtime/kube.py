"""Connection to the API server: kubeconfig / in-cluster loading and a thin JSON transport.

kubernetes_asyncio is used only to load configuration (kubeconfig, exec/OIDC token hooks,
in-cluster service account); requests go through one ``aiohttp`` session with that TLS
configuration, and bodies are parsed with orjson into plain dicts.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import structlog
import yaml

if TYPE_CHECKING:
    from xeem.runtime.metrics import RuntimeMetrics

log = structlog.get_logger("xeem.runtime.kube")

Params = Mapping[str, str | int | bool | None]


# -- errors ----------------------------------------------------------------------------------


class ApiError(Exception):
    """A failed API request; ``status`` is the HTTP status (0 when there was no response)."""

    def __init__(
        self,
        status: int,
        reason: str = "",
        message: str = "",
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body or {}
        self.retry_after = retry_after


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    """409 Conflict: the object changed since it was read (stale resourceVersion)."""


class AlreadyExistsError(ApiError):
    """409 AlreadyExists on create."""


class GoneError(ApiError):
    """410 Gone / Expired: the resourceVersion is too old (compacted)."""


class InvalidError(ApiError):
    pass


class ForbiddenError(ApiError):
    pass


class UnauthorizedError(ApiError):
    pass


class TooManyRequestsError(ApiError):
    pass


class ServerError(ApiError):
    pass


class TransportError(ApiError):
    """No usable response: connection refused/reset, TLS failure, timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "TransportError", message)


def error_from_status(
    status: int, body: dict[str, Any], retry_after: float | None = None
) -> ApiError:
    """The typed error for an HTTP status and its ``Status`` body."""
    reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
    message = str(body.get("message", "")) if isinstance(body, dict) else str(body)
    cls: type[ApiError]
    if status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = AlreadyExistsError if reason == "AlreadyExists" else ConflictError
    elif status == 410 or reason in ("Expired", "Gone"):
        cls = GoneError
    elif status == 422:
        cls = InvalidError
    elif status == 403:
        cls = ForbiddenError
    elif status == 401:
        cls = UnauthorizedError
    elif status == 429:
        cls = TooManyRequestsError
    elif status >= 500:
        cls = ServerError
    else:
        cls = ApiError
    return cls(status, reason, message, body if isinstance(body, dict) else {}, retry_after)


# -- configuration ---------------------------------------------------------------------------


@dataclass
class KubeConfig:
    """Where the API server is and how to authenticate to it."""

    host: str
    ssl: ssl.SSLContext | bool = True
    server_hostname: str | None = None
    token: Callable[[], Awaitable[str | None]] | None = None
    proxy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    source: str = ""


async def load_config(
    kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
) -> KubeConfig:
    """Load a kubeconfig (argument, then ``$KUBECONFIG``, then ``~/.kube/config``) or, when
    none exists, the in-cluster service account configuration.

    Certificates, tokens, token files and basic auth are read natively; kubeconfigs whose
    user needs an exec or auth-provider plugin go through kubernetes_asyncio's loader
    (imported only then: it costs ~30 MB of memory).
    """
    path = _kubeconfig_path(kubeconfig)
    if path is None:
        return _in_cluster_config()
    native = _read_kubeconfig(path, context)
    if native is not None:
        return native
    return await _kubernetes_asyncio_config(path, context)


def _kubeconfig_path(kubeconfig: str | os.PathLike[str] | None) -> str | None:
    if kubeconfig:
        return str(kubeconfig)
    env = os.environ.get("KUBECONFIG")
    if env:
        return env.split(os.pathsep)[0]
    default = os.path.expanduser("~/.kube/config")
    return default if os.path.exists(default) else None


def _read_kubeconfig(path: str, context: str | None) -> KubeConfig | None:
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    return _native_kubeconfig(doc, context, os.path.dirname(os.path.abspath(path)), path)


def _named(items: list[dict[str, Any]] | None, name: str, what: str) -> dict[str, Any]:
    for item in items or ():
        if item.get("name") == name:
            return dict(item.get(what) or {})
    raise ValueError(f"kubeconfig has no {what} named {name!r}")


def _native_kubeconfig(
    doc: dict[str, Any], context: str | None, base: str, source: str
) -> KubeConfig | None:
    ctx_name = context or doc.get("current-context")
    if not ctx_name:
        raise ValueError(f"{source}: no current-context")
    ctx = _named(doc.get("contexts"), ctx_name, "context")
    cluster = _named(doc.get("clusters"), ctx["cluster"], "cluster")
    user = _named(doc.get("users"), ctx["user"], "user") if ctx.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        return None

    def path_of(p: str) -> str:
        return p if os.path.isabs(p) else os.path.join(base, p)

    ctx_ssl = ssl.create_default_context()
    if cluster.get("certificate-authority-data"):
        ctx_ssl.load_verify_locations(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
    elif cluster.get("certificate-authority"):
        ctx_ssl.load_verify_locations(cafile=path_of(cluster["certificate-authority"]))
    if cluster.get("insecure-skip-tls-verify"):
        ctx_ssl.check_hostname = False
        ctx_ssl.verify_mode = ssl.CERT_NONE
    cert = user.get("client-certificate-data") or user.get("client-certificate")
    if cert:
        _load_client_cert(ctx_ssl, user, path_of)
    headers: dict[str, str] = {}
    token: Callable[[], Awaitable[str | None]] | None = None
    if user.get("token"):
        static = str(user["token"])

        async def static_token() -> str | None:
            return static

        token = static_token
    elif user.get("tokenFile"):
        token = _file_token(path_of(user["tokenFile"]))
    elif user.get("username") and user.get("password"):
        raw = f"{user['username']}:{user['password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    return KubeConfig(
        host=str(cluster["server"]).rstrip("/"),
        ssl=ctx_ssl,
        server_hostname=cluster.get("tls-server-name"),
        token=token,
        proxy=cluster.get("proxy-url"),
        headers=headers,
        source=source,
    )


def _load_client_cert(
    ctx: ssl.SSLContext, user: dict[str, Any], path_of: Callable[[str], str]
) -> None:
    if user.get("client-certificate-data"):
        # ssl only loads chains from files: write them to a private temporary directory
        with tempfile.TemporaryDirectory(prefix="xeem-kube-") as tmp:
            cert = os.path.join(tmp, "tls.crt")
            key = os.path.join(tmp, "tls.key")
            with open(cert, "wb") as f:
                f.write(base64.b64decode(user["client-certificate-data"]))
            with open(key, "wb") as f:
                f.write(base64.b64decode(user.get("client-key-data", "")))
            ctx.load_cert_chain(cert, key)
    else:
        key_path = user.get("client-key")
        ctx.load_cert_chain(
            path_of(user["client-certificate"]), path_of(key_path) if key_path else None
        )


def _file_token(path: str, refresh: float = 60.0) -> Callable[[], Awaitable[str | None]]:
    """A token re-read from ``path`` every ``refresh`` seconds (bound tokens rotate)."""
    state: dict[str, Any] = {"token": None, "read": -1e18}

    async def read() -> str | None:
        now = time.monotonic()
        if now - state["read"] > refresh:
            with open(path) as f:  # noqa: ASYNC230 - a tiny local file
                state["token"] = f.read().strip()
            state["read"] = now
        return str(state["token"]) if state["token"] else None

    return read


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _in_cluster_config() -> KubeConfig:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ValueError("no kubeconfig found and not running in a cluster")
    if ":" in host:
        host = f"[{host}]"
    ctx = ssl.create_default_context(cafile=os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"))
    return KubeConfig(
        host=f"https://{host}:{port}",
        ssl=ctx,
        token=_file_token(os.path.join(SERVICE_ACCOUNT_DIR, "token")),
        source="in-cluster",
    )


async def _kubernetes_asyncio_config(path: str, context: str | None) -> KubeConfig:
    from kubernetes_asyncio import config as kconfig
    from kubernetes_asyncio.client import Configuration

    cfg = Configuration()
    await kconfig.load_kube_config(
        config_file=path, context=context, client_configuration=cfg, persist_config=False
    )
    return _from_configuration(cfg, path)


def _from_configuration(cfg: Any, source: str) -> KubeConfig:
    if cfg.ssl_ca_cert:
        ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    else:
        ctx = ssl.create_default_context()
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    async def bearer() -> str | None:
        value = await cfg.get_api_key_with_prefix("BearerToken")
        return str(value) if value else None

    headers: dict[str, str] = {}
    if cfg.username and cfg.password:
        headers["Authorization"] = cfg.get_basic_auth_token()
    return KubeConfig(
        host=str(cfg.host).rstrip("/"),
        ssl=ctx,
        server_hostname=getattr(cfg, "tls_server_name", None),
        token=bearer,
        proxy=getattr(cfg, "proxy", None),
        headers=headers,
        source=source,
    )


# -- transport -------------------------------------------------------------------------------


def _clean_params(params: Params | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class Transport:
    """JSON over HTTPS to one API server, over one pooled aiohttp session."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        user_agent: str = "xeem",
        max_connections: int = 256,
        request_timeout: float = 60.0,
        max_429_retries: int = 5,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self._host_label = urlsplit(config.host).netloc
        self.user_agent = user_agent
        self.request_timeout = request_timeout
        self.max_429_retries = max_429_retries
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def from_kubeconfig(
        cls, kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None, **kw: Any
    ) -> Transport:
        return cls(await load_config(kubeconfig, context), **kw)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self.config.ssl, limit=self._max_connections, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent, **self.config.headers},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _headers(
        self, content_type: str | None, accept: str = "application/json"
    ) -> dict[str, str]:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        if self.config.token is not None:
            token = await self.config.token()
            if token:
                headers["Authorization"] = token if " " in token else f"Bearer {token}"
        return headers

    def _request_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.config.server_hostname:
            kw["server_hostname"] = self.config.server_hostname
        if self.config.proxy:
            kw["proxy"] = self.config.proxy
        return kw

    def _count(self, code: str, method: str) -> None:
        if self.metrics is not None:
            self.metrics.rest_client_requests.labels(code, method, self._host_label).inc()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One request; returns the decoded JSON body or raises a typed ``ApiError``."""
        data = None if body is None else orjson.dumps(body)
        attempt = 0
        while True:
            headers = await self._headers(content_type if data is not None else None)
            try:
                async with self.session.request(
                    method,
                    self.config.host + path,
                    params=_clean_params(params),
                    data=data,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=timeout or self.request_timeout),
                    **self._request_kwargs(),
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                self._count("<error>", method)
                raise TransportError(f"{method} {path}: {type(e).__name__}: {e}") from e
            self._count(str(status), method)
            try:
                decoded: Any = orjson.loads(raw) if raw else {}
            except ValueError:
                decoded = {"message": raw[:500].decode(errors="replace")}
            if status < 300:
                return decoded if isinstance(decoded, dict) else {"items": decoded}
            error = error_from_status(
                status, decoded if isinstance(decoded, dict) else {}, _float(retry_after)
            )
            if isinstance(error, TooManyRequestsError) and attempt < self.max_429_retries:
                attempt += 1
                await asyncio.sleep(error.retry_after or 1.0)
                continue
            raise error

    async def stream(
        self,
        path: str,
        *,
        params: Params | None = None,
        inactivity_timeout: float | None = None,
        connect_timeout: float = 30.0,
    ) -> AsyncIterator[dict[str, Any]]:
        """A watch: yields each JSON line as a dict.

        Raises ``asyncio.TimeoutError`` when nothing (no event, no bookmark, no byte) arrives
        for ``inactivity_timeout`` seconds - a stalled stream - and a typed ``ApiError`` when
        the server refuses the watch. Returns normally when the server closes the stream.
        """
        headers = await self._headers(None)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=inactivity_timeout
        )
        try:
            async with asyncio.timeout(inactivity_timeout or connect_timeout):
                resp = await self.session.get(
                    self.config.host + path,
                    params=_clean_params(params),
                    headers=headers,
                    timeout=timeout,
                    **self._request_kwargs(),
                )
        except TimeoutError:
            self._count("<error>", "GET")
            raise
        except (aiohttp.ClientError, OSError) as e:
            self._count("<error>", "GET")
            raise TransportError(f"WATCH {path}: {type(e).__name__}: {e}") from e
        self._count(str(resp.status), "GET")
        try:
            if resp.status >= 300:
                raw = await resp.read()
                try:
                    decoded = orjson.loads(raw) if raw else {}
                except ValueError:
                    decoded = {"message": raw[:500].decode(errors="replace")}
                raise error_from_status(resp.status, decoded if isinstance(decoded, dict) else {})
            buffer = bytearray()
            while True:
                try:
                    if inactivity_timeout is not None:
                        async with asyncio.timeout(inactivity_timeout):
                            chunk = await resp.content.readany()
                    else:
                        chunk = await resp.content.readany()
                except TimeoutError:
                    raise
                except (aiohttp.ClientError, OSError) as e:
                    raise TransportError(f"WATCH {path}: {type(e).__name__}: {e}") from e
                if not chunk:
                    if buffer.strip():
                        raise TransportError(f"WATCH {path}: stream ended inside an event")
                    return
                buffer.extend(chunk)
                start = 0
                while True:
                    nl = buffer.find(b"\n", start)
                    if nl < 0:
                        break
                    line, start = buffer[start:nl], nl + 1
                    if line.strip():
                        yield orjson.loads(line)
                del buffer[:start]
        finally:
            resp.close()


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
