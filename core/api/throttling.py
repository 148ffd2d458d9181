from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rest_framework.throttling import SimpleRateThrottle

from core.dependencies import cache_failures

if TYPE_CHECKING:  # DRF's settings import these modules: no import back at run time
    from rest_framework.request import Request
    from rest_framework.views import APIView


logger = logging.getLogger(__name__)


class CallerRateThrottle(SimpleRateThrottle):
    """One budget per API key, one per signed-in user, one per IP otherwise."""

    scope = "caller"

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Counted in the cache; when the cache (Redis) is away, requests go through
        unthrottled rather than fail — a warning says so."""
        try:
            return super().allow_request(request, view)
        except cache_failures():
            logger.warning("the API rate limit is not enforced: the cache is not answering")
            return True

    def get_cache_key(self, request: Request, view: APIView) -> str:
        caller = getattr(request, "caller", None)
        if caller is not None and caller.api_key is not None:
            ident = f"key:{caller.api_key.prefix}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
