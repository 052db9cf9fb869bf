"""Names and Belgian numbers for seeded data, each passing the check EAM itself applies.

- NIHDI institution numbers: 8 digits (:func:`eam.organisations.numbers.normalise_nihdi`); the
  first two follow the kind of institution (hospitals ``71``, as the demo's ``71000436``), the
  rest is random, and numbers already in the database are never reused.
- KBO enterprise numbers: ``0`` + 7 digits + check digits ``97 - (first eight mod 97)``
  (:func:`eam.organisations.numbers.normalise_kbo` accepts each one).
- National numbers (NISS): ``YYMMDD`` + serial + check digits; only their keyed hash is stored,
  exactly as a sign-in would store it.

Names are plain ASCII so that e-mail addresses built from them are ones EAM accepts.
"""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Lucas", "Noah", "Louis", "Liam", "Arthur", "Jules", "Adam", "Victor", "Finn", "Mathis",
    "Emma", "Olivia", "Louise", "Mila", "Alice", "Juliette", "Elena", "Marie", "Lina", "Nora",
    "Jan", "Pieter", "Koen", "Bart", "Wim", "Tom", "Joris", "Stijn", "Dirk", "Geert",
    "Sofie", "Els", "An", "Katrien", "Griet", "Lies", "Ine", "Veerle", "Hilde", "Sarah",
    "Pierre", "Jean", "Michel", "Philippe", "Luc", "Marc", "Nicolas", "Julien", "Thomas", "Antoine",
    "Isabelle", "Nathalie", "Sophie", "Catherine", "Valerie", "Camille", "Chloe", "Manon", "Laura", "Anne",
    "Mohamed", "Youssef", "Amina", "Fatima", "Ayoub", "Ines", "Mehmet", "Elif", "Piotr", "Anna",
)
LAST_NAMES = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
    "Dubois", "Lambert", "Dupont", "Martin", "Simon", "Laurent", "Leclercq", "Lemaire", "Renard", "Mathieu",
    "Vermeulen", "Van den Broeck", "Hermans", "Michiels", "Desmet", "Verstraete", "Declercq", "De Backer", "Aerts", "Coppens",
    "Denis", "Francois", "Henry", "Collard", "Gerard", "Lejeune", "Marchal", "Hubert", "Petit", "Leroy",
    "Van Damme", "Pauwels", "Smets", "Cools", "Bogaerts", "Segers", "Lemmens", "Verhoeven", "Stevens", "Vandenberghe",
    "El Amrani", "Benali", "Yilmaz", "Kaya", "Nowak", "Kowalski", "Rossi", "Garcia", "Diallo", "Nguyen",
)
PLACES = (
    "Antwerpen", "Gent", "Brugge", "Leuven", "Mechelen", "Aalst", "Kortrijk", "Hasselt", "Genk", "Oostende",
    "Sint-Niklaas", "Roeselare", "Turnhout", "Dendermonde", "Geel", "Lier", "Ieper", "Tienen", "Diest", "Vilvoorde",
    "Bruxelles", "Brussel", "Ixelles", "Anderlecht", "Schaerbeek", "Liege", "Charleroi", "Namur", "Mons", "La Louviere",
    "Tournai", "Verviers", "Seraing", "Mouscron", "Arlon", "Wavre", "Ottignies", "Nivelles", "Huy", "Eupen",
)
SAINTS = ("Sint-Jan", "Sint-Maarten", "Sint-Lucas", "Sint-Elisabeth", "Sint-Vincentius", "Maria Middelares", "Sint-Jozef", "Sint-Augustinus")

#: Kinds of organisation by size rank: (share of organisations, NIHDI prefix, name patterns).
#: The biggest organisations (most assignments) are hospitals, the smallest practices.
KINDS = (
    (0.06, "71", ("AZ {saint} {place}", "UZ {place}", "CHU de {place}", "Ziekenhuisnetwerk {place}", "CHR {place}")),
    (0.10, "82", ("Labo {last}", "Laboratoire {place}", "Klinisch Labo {place}")),
    (0.14, "76", ("WZC {saint}", "Maison de repos {place}", "Woonzorgcentrum {place}")),
    (0.20, "73", ("Wijkgezondheidscentrum {place}", "Maison medicale {place}", "Medisch Centrum {place}")),
    (0.50, "19", ("Huisartsenpraktijk {last}", "Cabinet medical {last}", "Groepspraktijk {last} & {last2}")),
)

REGISTER_TOPICS = (
    "Cancer screening", "Cystic fibrosis", "Hip prostheses", "Knee prostheses", "Cardiac surgery",
    "Congenital heart disease", "Stroke care", "Diabetes in primary care", "Rare diseases",
    "Neonatal intensive care", "Hospital infections", "Antimicrobial resistance", "Mental health care",
    "Dialysis", "Organ transplantation", "Breast cancer quality", "Colorectal cancer quality",
    "Perinatal outcomes", "Elderly care quality", "COVID-19 vaccination", "Influenza surveillance",
    "Paediatric oncology", "Orthopaedic implants", "Cochlear implants", "Pacemakers and ICDs",
    "Obesity surgery", "Tuberculosis", "HIV care", "Multiple sclerosis", "Haemophilia",
)
REGISTER_SCOPES = ("national register", "quality indicators", "follow-up study", "surveillance", "pilot")

JUSTIFICATIONS = (
    "I register the patients of our department for this data collection.",
    "I prepare our organisation's quality reports for this register.",
    "I am the local study coordinator for this project.",
    "I replace a colleague on leave who registered these patients.",
    "I co-author registrations for our study team.",
    "Our medical director asked me to follow up the feedback reports.",
    "I need the hospital-level reports for the annual quality review.",
    "I am a data manager and check registrations before they are sent.",
)
REJECTIONS = (
    "Not part of the study team for this register.",
    "Please ask for the individual data level instead.",
    "Wrong organisation: you work at another campus.",
    "Your contract ends before the data collection starts.",
    "Duplicate of an access you already hold through another role.",
)
REVOCATIONS = ("left the organisation", "moved to another department", "study ended", "role no longer needed", "annual access review")
APPROVAL_COMMENTS = (None, None, None, "ok", "approved for this year's data collection", "individual data is enough")


def nihdi_number(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """A new 8-digit NIHDI institution number with this prefix, not in ``taken`` (added to it)."""
    while True:
        candidate = f"{prefix}{rng.randrange(10**6):06d}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def kbo_number(rng: random.Random, taken: set[str]) -> str:
    """A new enterprise number (10 digits, valid check digits), not in ``taken`` (added to it)."""
    while True:
        base = rng.randrange(2_000_000, 10_000_000)  # 0200.000.0xx to 0999.999.9xx, as issued
        candidate = f"{base:08d}{97 - base % 97:02d}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def national_number(rng: random.Random) -> str:
    """A NISS with valid check digits for someone born 1955-1999 (the pre-2000 rule)."""
    year, month, day = rng.randrange(55, 100), rng.randrange(1, 13), rng.randrange(1, 29)
    first = int(f"{year:02d}{month:02d}{day:02d}{rng.randrange(1, 998):03d}")
    return f"{first:09d}{97 - first % 97:02d}"


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def slug(text: str) -> str:
    """Lower-case letters and digits, for e-mail addresses, subjects and domain names."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def organisation_name(rng: random.Random, patterns: tuple[str, ...]) -> str:
    return rng.choice(patterns).format(
        saint=rng.choice(SAINTS), place=rng.choice(PLACES), last=rng.choice(LAST_NAMES), last2=rng.choice(LAST_NAMES)
    )


def register_name(rng: random.Random) -> str:
    return f"{rng.choice(REGISTER_TOPICS)} ({rng.choice(REGISTER_SCOPES)})"
