"""A test-local stand-in for the sandbox's Product details endpoint (issue #12).

Used ONLY while the real endpoint (previews/sandbox/products.py, written in another
branch) is missing: `product_gateway_url` in test_lookups.py probes the real sandbox first
and uses it when it answers Product details. Scenarios follow the agreed interface,
by the offer id's last three digits (700-713); sellers as the sandbox's `seller_of`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

from previews import gateway

PATH = "/alibaba/product/queryProductDetail"
COLOURS = ["红色", "蓝色", "黑色", "白色", "绿色"]
COLOURS_EN = ["Red", "Blue", "Black", "White", "Green"]
SIZES = ["S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL"]


def spec_of(offer_id: int, index: int) -> str:
    return hashlib.md5(f"{offer_id}-{index}".encode()).hexdigest()  # noqa: S324


def skus(offer_id: int, colours: int, sizes: int, *, priced: bool, zero_every: int = 0):
    out = []
    for c in range(colours):
        for s in range(sizes):
            i = c * sizes + s
            out.append(
                {
                    "skuId": offer_id * 100 + i,
                    "specId": spec_of(offer_id, i),
                    "price": f"{20 + c + s}.00" if priced else None,
                    "amountOnSale": 0 if zero_every and i % zero_every == 0 else 500,
                    "cargoNumber": f"C{i}",
                    "skuAttributes": [
                        {"attributeId": 3216, "attributeName": "颜色",
                         "attributeNameTrans": "Color", "value": COLOURS[c],
                         "valueTrans": COLOURS_EN[c],
                         "skuImageUrl": f"https://cbu01.alicdn.com/img/{offer_id}-{c}.jpg"},
                        {"attributeId": 450, "attributeName": "尺码",
                         "attributeNameTrans": "Size", "value": SIZES[s], "valueTrans": SIZES[s]},
                    ],
                }
            )  # fmt: skip
    return out


def product(offer_id: int) -> dict:
    scenario = offer_id % 1000
    seller = offer_id // 1_000_000
    data = {
        "offerId": offer_id,
        "subject": f"测试商品 {offer_id}",
        "subjectTrans": f"Test product {offer_id}",
        "status": "published",
        "sellerOpenId": f"BBB{seller}",
        "companyName": f"义乌市{seller}贸易有限公司",
        "productImage": {"images": [f"https://cbu01.alicdn.com/img/{offer_id}.jpg"]},
        "productSkuInfos": [],
        "productSaleInfo": {
            "quoteType": 0,
            "amountOnSale": 1000,
            "priceRangeList": [{"startQuantity": 1, "price": "15.00"}],
            "unitInfo": {"unit": "件", "transUnit": "piece"},
        },
        "minOrderQuantity": 1,
        "batchNumber": 1,
    }
    sale = data["productSaleInfo"]
    if scenario == 700:
        sale["priceRangeList"] = [
            {"startQuantity": 1, "price": "12.00"},
            {"startQuantity": 50, "price": "11.00"},
            {"startQuantity": 200, "price": "10.00"},
        ]
    elif scenario == 701:
        data["productSkuInfos"] = skus(offer_id, 2, 3, priced=True)
        sale["quoteType"] = 1
    elif scenario == 702:
        data["productSkuInfos"] = skus(offer_id, 2, 2, priced=False)
        sale["quoteType"] = 2
        sale["priceRangeList"] = [
            {"startQuantity": 2, "price": "20.00", "promotionPrice": "19.00"},
            {"startQuantity": 100, "price": "18.00", "promotionPrice": "17.00"},
        ]
    elif scenario == 703:
        data["status"] = "expired"
    elif scenario == 705:
        data["minOrderQuantity"], data["batchNumber"] = 10, 5
    elif scenario == 706:
        data["productSkuInfos"] = skus(offer_id, 5, 8, priced=True)
        sale["quoteType"] = 1
    elif scenario == 707:
        data["productSkuInfos"] = skus(offer_id, 2, 3, priced=True, zero_every=2)
        sale["quoteType"] = 1
    elif scenario == 708:
        data["sellerMixSetting"] = {"generalHunpi": True, "mixAmount": "500.00", "mixNumber": 10}
    elif scenario == 713:
        data["productSkuInfos"] = skus(offer_id, 1, 1, priced=True)
        sale["quoteType"] = 1
    return data


class Stub:
    def __init__(self, slow: float):
        self.slow = slow
        self.lock = threading.Lock()
        self.by_offer: dict[int, int] = {}

    def calls(self, offer_id: int) -> int:
        with self.lock:
            return self.by_offer.get(offer_id, 0)

    def answer(self, offer_id: int) -> tuple[int, str, bytes]:
        with self.lock:
            self.by_offer[offer_id] = self.by_offer.get(offer_id, 0) + 1
        scenario = offer_id % 1000
        if scenario == 704:
            body = {"code": 404, "message": "商品不存在或已下架", "data": None, "traceId": "t"}
            return 200, "application/json", json.dumps(body, ensure_ascii=False).encode()
        if scenario == 709:
            time.sleep(self.slow)
        if scenario == 710:
            return 500, "text/html", b"<html><body>Internal Server Error</body></html>"
        if scenario == 711:
            return 429, "application/json", b'{"code":429,"message":"too many requests"}'
        if scenario == 712:
            return 200, "text/plain", b"this is not JSON"
        body = {"code": 200, "message": "ok", "data": product(offer_id), "traceId": "trace-lk"}
        return 200, "application/json", json.dumps(body, ensure_ascii=False).encode()


@contextlib.contextmanager
def product_stub(slow: float = 3.0):
    stub = Stub(slow)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path != PATH:
                self._send(404, "text/plain", b"not found")
                return
            offer = parse_qs(parts.query).get("offerId", ["0"])[0]
            self._send(*stub.answer(int(offer)))

        def _send(self, status, content_type, body):
            self.send_response(status)
            self.send_header("Content-Type", content_type + "; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


SELLER = 612345  # offers 612345000700..713 share one seller (seller_of = id // 1_000_000)


def offer(scenario: int, seller: int = SELLER) -> int:
    return seller * 1_000_000 + scenario


class ProductGateway:
    def __init__(self, url: str, real: bool):
        self.url, self.real = url, real

    def config(self, **overrides) -> gateway.GatewayConfig:
        options = {"max_attempts": 2, "backoff_base": 0.01, "read_timeout": 1.0,
                   "call_deadline": 2.0, "retry_budget": 5.0}  # fmt: skip
        options.update(overrides)
        return gateway.GatewayConfig(base_url=self.url, **options)


def real_sandbox_serves_products(url: str) -> bool:
    try:
        answer = requests.get(
            url + gateway.PRODUCT_DETAIL_PATH, params={"offerId": offer(700)}, timeout=5
        )
        return answer.json().get("code") in (200, "200")
    except (ValueError, AttributeError, requests.RequestException):
        return False


@contextlib.contextmanager
def product_gateway_for(sandbox_url: str):
    """The real sandbox if it answers Product details, else the test-local stub."""
    if real_sandbox_serves_products(sandbox_url):
        yield ProductGateway(sandbox_url, real=True)
        return
    with product_stub(slow=3.0) as stub:
        yield ProductGateway(stub.url, real=False)
