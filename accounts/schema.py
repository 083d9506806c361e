"""OpenAPI description of JoyCart's authentication, for drf-spectacular."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTCookieAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.auth.JWTCookieAuthentication"
    name = ["jwtBearer", "jwtCookie"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {
                "type": "apiKey",
                "in": "cookie",
                "name": settings.JWT_ACCESS_COOKIE,
                "description": "Set by /api/v1/auth/login/. Unsafe methods also need the X-CSRFToken header.",
            },
        ]
