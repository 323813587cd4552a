"""COW war numbers: the version 3 -> version 4 crosswalk Leeds-Anac rows need.

Leeds & Anac (2005) number wars as the Correlates of War inter-state war list version 3.0 does
(Sarkees 2000, "The Correlates of War Data on War: An Update to 1997", Conflict Management and
Peace Science 18(1)). Berkemeier & Fuhrmann (2018) and the COW war file used for start years
use version 4.0 (Sarkees & Wayman 2010, *Resort to War*, CQ Press). Version 4 kept the number
of every version 3 inter-state war up to the Korean War (151) and slotted the wars it added into
the unused numbers between them (60, 65, 83, 107, 108, 153, ...); after 1951 it re-dated and
renumbered some wars. :data:`V3_TO_V4` lists the version 3 inter-state wars through the Gulf
War (211), and the test suite checks each renumbering against the data: the members of the
Leeds-Anac alliances of a v3 war fight in the v4 war it maps to, and in no other v4 war near
it.

Numbers outside the table (a later v3 war, a typo) are not guessed: the loader then takes the
era from a ``year`` / ``era`` column of the file, or marginalises over it and says so.

Depends on nothing.
"""

from __future__ import annotations

# Version 3 wars up to 1951 whose number version 4 kept (same war, same number).
_KEPT = (
    # 1823-1870: Franco-Spanish ... Franco-Prussian
    1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58,
    # 1877-1913: Russo-Turkish ... Second Balkan
    61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103,
    # 1914-1951: World War I ... Korean
    106, 109, 112, 115, 116, 117, 118, 121, 124, 125, 127, 130, 133, 136, 139, 142, 145, 147,
    148, 151,
)  # fmt: skip

#: COW inter-state war number, version 3 -> version 4.
V3_TO_V4: dict[int, int] = {n: n for n in _KEPT} | {
    154: 156,  # Russo-Hungarian 1956 (v4: Soviet Invasion of Hungary)
    157: 155,  # Sinai 1956 (v4: Sinai War; v4 dates it before Hungary)
    160: 160,  # Sino-Indian / Assam 1962
    163: 163,  # Vietnam 1965 (v4: Vietnam War phase 2)
    166: 166,  # Second Kashmir 1965
    169: 169,  # Six Day 1967
    172: 172,  # Israeli-Egyptian 1969 (v4: War of Attrition)
    175: 175,  # Football 1969
    178: 178,  # Bangladesh 1971
    181: 181,  # Yom Kippur 1973
    184: 184,  # Turco-Cypriot 1974
    187: 189,  # Vietnamese-Cambodian (v4: 1977, after the Ogaden war)
    189: 187,  # Ethiopian-Somalian 1977 (v4: Second Ogaden War)
    190: 190,  # Ugandan-Tanzanian 1978
    193: 193,  # Sino-Vietnamese 1979
    199: 199,  # Iran-Iraq 1980
    202: 202,  # Falklands 1982
    205: 205,  # Israel-Syria, Lebanon 1982 (v4: War over Lebanon)
    208: 208,  # Sino-Vietnamese 1987
    211: 211,  # Gulf War 1990
}

#: The start year of the last war that began before 1945 and of the first after, in v4 terms:
#: the era boundary the datasets use (Berkemeier-Fuhrmann ``sample = 1`` is 1816-1944).
ERA_BOUNDARY_YEAR = 1945


def v4_number(v3: int) -> int | None:
    """The COW v4 number of COW v3 inter-state war ``v3``; None where the table has none."""
    return V3_TO_V4.get(int(v3))
