from rest_framework.throttling import SimpleRateThrottle


class CallerRateThrottle(SimpleRateThrottle):
    """One budget per API key, one per signed-in user, one per IP otherwise."""

    scope = "caller"

    def get_cache_key(self, request, view) -> str:
        caller = getattr(request, "caller", None)
        if caller is not None and caller.api_key is not None:
            ident = f"key:{caller.api_key.prefix}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
