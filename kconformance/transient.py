"""Which API errors are worth asking again, and the one retry policy for them.

An apiserver under load answers 429 or 5xx, and a connection can drop; asking again is right.
A 4xx says the request is wrong and surfaces as itself. This module imports nothing of
kconformance, so the client itself can retry its raw reads.
"""

from __future__ import annotations

import urllib3
from kubernetes.client.exceptions import ApiException
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status in (429, 500, 502, 503, 504) or exc.status == 0
    return isinstance(
        exc,
        (
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.MaxRetryError,
            urllib3.exceptions.TimeoutError,
            ConnectionError,
        ),
    )


transient_retry = retry(
    retry=retry_if_exception(is_transient),
    wait=wait_exponential(multiplier=0.2, max=5),
    stop=stop_after_delay(60),
    reraise=True,
)
