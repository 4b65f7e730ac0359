"""Distances on the Earth, for every rule that weighs where a place is: the great-circle
(haversine) distance on the mean Earth radius (IUGG), in km, between (lat, lon) points."""

from __future__ import annotations

import math
from collections.abc import Callable

#: The mean Earth radius (IUGG), in km.
EARTH_RADIUS_KM = 6371.0088


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    return distance_to(b)(*a)


def distance_to(point: tuple[float, float]) -> Callable[[float, float], float]:
    """`distance_km((lat, lon), point)` as a function of (lat, lon), for many places and one
    point: the point's share of the work is done once."""
    lat2, lon2 = math.radians(point[0]), math.radians(point[1])
    cos_lat2 = math.cos(lat2)
    sin, cos, radians = math.sin, math.cos, math.radians

    def km(lat: float, lon: float) -> float:
        lat1, lon1 = radians(lat), radians(lon)
        h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos_lat2 * sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))

    return km
