from django.conf import settings


def gateway(request):
    """Tell every page which gateway the product talks to, so a sandbox is never mistaken,
    and whether placing orders is on (`ordering_enabled`, previews/orders.py)."""
    from .orders import ordering_enabled

    return {
        "gateway_url": settings.DAJI_API_URL,
        "gateway_is_production": settings.DAJI_API_URL == settings.DAJI_PRODUCTION_URL,
        "ordering_enabled": ordering_enabled(),
    }
