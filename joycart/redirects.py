"""Where a page may send the visitor back to after a POST: the `next` it was given, if it is ours."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest) -> str | None:
    """The posted (else query-string) `next`, when it stays on this host and scheme; otherwise None.

    Anything else (`//evil.com`, `https://evil.com`, `/\\evil.com`, `javascript:...`) would
    turn our login or cart page into an open redirect for phishing links.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return None
