"""The product's pages driven through Django's test client, for tests that start where a
buyer would."""

import uuid

from django.urls import reverse

from previews.models import PreviewRun


def preview(client, address, lines, flow="general") -> PreviewRun:
    """Post the preview form for `lines` to `address`; the run it started."""
    client.post(
        reverse("previews:preview-create"),
        {"address": address.pk, "lines": [line.pk for line in lines], "flow": flow,
         "submission_token": str(uuid.uuid4())},
    )  # fmt: skip
    return PreviewRun.objects.latest("pk")
