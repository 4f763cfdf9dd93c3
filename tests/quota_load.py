"""A load of preview calls from one process, for tests/test_quota.py (run as a module in
several processes at once): `python -m tests.quota_load URL STORE RATE CALLS THREADS KEY
START_AT`. Prints how many calls were answered and how many failed, as JSON."""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from previews import gateway

ADDRESS = gateway.Address(
    full_name="张三", mobile="13812345678", phone="13812345678", post_code="310051",
    province_text="浙江省", city_text="杭州市", area_text="滨江区", town_text="长河街道",
    address="网商路699号", district_code="330108",
)  # fmt: skip


def main(url: str, store: str, rate: str, calls: str, threads: str, key: str, start_at: str):
    config = gateway.GatewayConfig(
        base_url=url, app_key=key, rate_limit=float(rate), quota_store=store, max_attempts=1
    )
    cargo = [gateway.Cargo(offer_id=670291644950, spec_id="", quantity=1)]

    def one(_n: int) -> str:
        try:
            gateway.preview_order(config, address=ADDRESS, cargo=cargo, flow="general")
        except gateway.GatewayError as error:
            return str(error.kind)
        return "ok"

    time.sleep(max(0.0, float(start_at) - time.time()))  # every process starts together
    with ThreadPoolExecutor(int(threads)) as pool:
        outcomes = list(pool.map(one, range(int(calls))))
    print(json.dumps({kind: outcomes.count(kind) for kind in set(outcomes)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
