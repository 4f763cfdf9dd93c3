"""A stand-in for the European Central Bank's daily reference rates, so the demo's daily
fetch (CURRENCY_RATES_URL) never reaches the internet.

`GET /ecb/eurofxref-daily.xml` answers in the ECB's own format (units per euro, CNY
included), dated the last weekday up to today, with fixed demo rates.
"""

from __future__ import annotations

from datetime import date, timedelta

ECB_DAILY_PATH = "/ecb/eurofxref-daily.xml"

# Units per euro (demo figures of the ECB's usual size).
PER_EURO = {
    "USD": "1.0512", "JPY": "162.45", "GBP": "0.83215", "CHF": "0.9312", "AUD": "1.6123",
    "CAD": "1.4701", "CNY": "7.6073", "HKD": "8.1815", "KRW": "1472.95", "SGD": "1.4134",
    "THB": "36.363", "MYR": "4.6981", "IDR": "16752.88", "INR": "88.7565", "PLN": "4.3235",
}  # fmt: skip


def last_weekday(today: date) -> date:
    """The ECB publishes on working days: the weekend shows Friday's rates."""
    while today.weekday() >= 5:
        today -= timedelta(days=1)
    return today


def ecb_daily(today: date) -> bytes:
    cubes = "\n".join(
        f"\t\t\t<Cube currency='{code}' rate='{rate}'/>" for code, rate in PER_EURO.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
        "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
        "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n"
        "\t</gesmes:Sender>\n"
        f"\t<Cube>\n\t\t<Cube time='{last_weekday(today).isoformat()}'>\n{cubes}\n"
        "\t\t</Cube>\n\t</Cube>\n</gesmes:Envelope>\n"
    ).encode()
