"""Django's request limits answered with the page itself and a message, not "Bad Request".

Django refuses a form body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, or with more fields
than DATA_UPLOAD_MAX_NUMBER_FIELDS, by raising as soon as anything reads `request.POST`:
the CSRF check does, so the buyer got a bare "Bad Request (400)" and no idea why. This
middleware reads the form first (it sits just before CsrfViewMiddleware) and, for a
signed-in buyer, answers such a request with the same page as a GET would show it, plus
a message naming the limit and what to do. Nothing is written (the view runs as a GET,
which changes nothing), so skipping the CSRF check for that answer is safe.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def limit_message(request, error: Exception) -> str:
    """What the buyer is told about `error`, with the limit and a way around it."""
    if isinstance(error, RequestDataTooBig):
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        return _(
            "What you sent (%(size)s) is more than the %(limit)s a form can carry, so nothing "
            "was saved. To import many lines, save them as a CSV file and upload it (up to "
            "5 MB), or paste them in smaller parts."
        ) % {
            "size": filesizeformat(size),
            "limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        }
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return ngettext(
        "The form sent more than %(limit)s choice, the most one form can carry, so nothing "
        "was saved. Choose fewer (for example whole suppliers) and send it again.",
        "The form sent more than %(limit)s choices, the most one form can carry, so nothing "
        "was saved. Choose fewer (for example whole suppliers) and send it again.",
        limit,
    ) % {"limit": f"{limit:,}"}


class RequestLimitsMiddleware:
    """Answer a POST past Django's upload limits with its page and an explanation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or not request.user.is_authenticated:
            return None
        try:
            request.POST  # noqa: B018 - parsing is what raises
            request.FILES  # noqa: B018
        except LIMIT_ERRORS as error:
            request._mark_post_parse_error()
            messages.error(request, limit_message(request, error))
            request.method = "GET"
            response = view_func(request, *view_args, **view_kwargs)
            if response.status_code == 200:
                response.status_code = 413 if isinstance(error, RequestDataTooBig) else 400
            return response
        return None
