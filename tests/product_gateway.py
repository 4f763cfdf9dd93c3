"""The sandbox's Product details, as the lookup tests use it: offers by scenario (the
last three digits, 700-713: see the README's sandbox table) and a config that gives up
fast."""

from __future__ import annotations

from previews import gateway

SELLER = 612345  # offers 612345000700..713 share one seller (seller_of = id // 1_000_000)


def offer(scenario: int, seller: int = SELLER) -> int:
    return seller * 1_000_000 + scenario


class ProductGateway:
    def __init__(self, url: str):
        self.url = url

    def config(self, **overrides) -> gateway.GatewayConfig:
        options = {"max_attempts": 2, "backoff_base": 0.01, "read_timeout": 1.0,
                   "call_deadline": 2.0, "retry_budget": 5.0}  # fmt: skip
        options.update(overrides)
        return gateway.GatewayConfig(base_url=self.url, **options)
