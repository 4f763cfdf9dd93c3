from django.conf import settings


def gateway(request):
    """Tell every page which gateway the product talks to, so a sandbox is never mistaken."""
    return {
        "gateway_url": settings.DAJI_API_URL,
        "gateway_is_production": settings.DAJI_API_URL == settings.DAJI_PRODUCTION_URL,
    }
