from django.conf import settings


def gateway(request):
    """Tell every page which gateway the product talks to, so a sandbox is never mistaken,
    and whether placing orders is on (`ordering_enabled`, previews/orders.py)."""
    from .orders import gateway_is_sandbox, ordering_enabled

    return {
        "gateway_url": settings.DAJI_API_URL,
        "gateway_is_production": not gateway_is_sandbox(),
        "ordering_enabled": ordering_enabled(),
    }
