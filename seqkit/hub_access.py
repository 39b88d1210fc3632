"""Talking to the HuggingFace Hub: bounded waits, a reachability probe, and one-line errors.

Everything goes through ``huggingface_hub``'s own HTTP session, so ``HF_ENDPOINT``, proxies (``HTTPS_PROXY``...),
certificates and ``HF_HUB_OFFLINE`` apply exactly as they do to the HuggingFace clients.

``huggingface_hub`` reads its timeouts when it is imported; :func:`bound_waits` (called by the ``seqkit`` entry
point before anything imports it) sets defaults that keep a silent server from holding a command for minutes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from seqkit.errors import HubUnreachableError

#: Seconds to wait for the Hub to answer one request (metadata, or each read of a download).
HUB_TIMEOUT_S = 15.0

T = TypeVar("T")


def bound_waits() -> None:
    """Default ``HF_HUB_ETAG_TIMEOUT`` / ``HF_HUB_DOWNLOAD_TIMEOUT`` (the user's values win). Call before import."""
    for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        os.environ.setdefault(name, str(int(HUB_TIMEOUT_S)))


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``HF_DATASETS_OFFLINE``) asks for cached files only."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_DATASETS_OFFLINE", "").upper() in ("1", "ON", "YES",
                                                                                                   "TRUE")


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def probe(timeout: float | None = None) -> str | None:
    """``None`` when the Hub endpoint answers an HTTP request within ``timeout`` s, else why it does not.

    Any HTTP answer counts (even an error status): the point is that requests get through, with the same
    session (proxies, certificates) the HuggingFace clients use. A server that accepts the connection and never
    answers fails here in ``timeout`` s instead of hanging a download.
    """
    if offline():
        return "HF_HUB_OFFLINE is set"
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    timeout = min(5.0, constants.HF_HUB_ETAG_TIMEOUT) if timeout is None else timeout
    try:
        get_session().head(endpoint(), timeout=timeout, follow_redirects=False)
    except Exception as error:  # httpx raises connect, proxy, TLS and timeout errors of several types
        kind = type(error).__name__
        return f"no answer within {timeout:.0f} s" if "Timeout" in kind else f"{kind}: {error}".rstrip(": ")
    return None


def hub_reachable(timeout: float | None = None) -> bool:
    """Whether the Hub answers (see :func:`probe`)."""
    return probe(timeout) is None


def call_hub(what: str, call: Callable[[], T], alternative: str) -> T:
    """Run ``call`` (a Hub request); turn network failures into one :class:`HubUnreachableError` line.

    Args:
        what: What is being waited for, e.g. ``"dataset info of SetFit/sst2@main"``.
        call: The request.
        alternative: What the user can do instead (local files, the offline cache).
    """
    try:
        return call()
    except Exception as error:
        if not _is_network_error(error):
            raise
        if offline():
            raise HubUnreachableError(f"{what} is not in the local cache and HF_HUB_OFFLINE is set. {alternative}")\
                from None
        from huggingface_hub import constants

        waited = constants.HF_HUB_ETAG_TIMEOUT
        reason = f"no answer within {waited:g} s" if "Timeout" in type(error).__name__ else str(error)
        reason = reason.splitlines()[0] if reason else type(error).__name__
        raise HubUnreachableError(
            f"The HuggingFace Hub ({endpoint()}) failed while fetching {what}: {reason}. {alternative}"
        ) from None


def _is_network_error(error: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(error, OfflineModeIsEnabled):
        return True
    if isinstance(error, HfHubHTTPError):  # the server answered: not a network failure
        return False
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"TimeoutException", "NetworkError", "ProxyError", "ConnectError", "ReadTimeout",
                         "ConnectTimeout", "RemoteProtocolError", "ConnectionError", "TimeoutError"})
