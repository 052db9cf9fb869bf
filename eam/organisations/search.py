"""Tolerant organisation search: what a person types finds the name however it is spelt.

Every organisation stores a **search key** (``organisations.search_key``, indexed): its name
with case, accents, punctuation and spaces removed, so "AZ Sint-Jan Brugge" is kept as
``azsintjanbrugge``. A query is reduced the same way and matches when its key is part of the
name's: "sint-jan", "Sint Jan", "SINT–JAN", "sintjan" and "sint jan brugge" all find it, and
"Saint-Étienne" is found by "saint etienne" or "st-etienne".

Abbreviations, a decision: "St"/"Sint"/"Saint" (and "Ste"/"Sinte"/"Sainte") name the same saint
in Dutch and French. In a query of several words, a word that is one of them also tries the
others, so "St-Jan" finds "Sint-Jan" and "St-Luc" finds "Saint-Luc". A query of that one word is
not expanded ("sint" alone would otherwise look for "st", part of every "Oostende"); only whole
words are (at most two per query): "stjan" written as one word finds "stjan" only. Names are
stored as written.

How text is reduced: compatibility decomposition (NFKD), case folding, decomposition again,
combining marks dropped (é → e, ß → ss, ﬁ → fi), a few letters NFKD keeps whole mapped to their
base (ø → o, ł → l, æ → ae, …), then everything that is not a letter or digit dropped. The key
is cut at ``KEY_LENGTH`` characters (a name of 200 characters can decompose further).

A change here changes stored keys: it needs a migration that computes them again
(as ``migrations/versions/0007_organisation_search_key.py`` does with :func:`search_key`).
"""

from __future__ import annotations

import itertools
import re
import unicodedata

KEY_LENGTH = 600
#: Words that stand for each other in a query.
SYNONYMS = (("sint", "saint", "st"), ("sinte", "sainte", "ste"))
#: At most this many words of one query are expanded (each expansion triples the variants).
MAX_EXPANDED_WORDS = 2
#: Letters with no decomposition, folded to what a person types without them.
BASE_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l", "æ": "ae", "œ": "oe", "þ": "th"})
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(BASE_LETTERS)


def words(text: str) -> list[str]:
    """The letters and digits of ``text``, folded, in runs separated by anything else."""
    return _WORD.findall(_fold(text))


def search_key(name: str) -> str:
    """The stored key of a name: its words, folded, joined without separators."""
    return "".join(words(name))[:KEY_LENGTH]


def query_keys(query: str) -> list[str]:
    """The keys a query matches as part of a name's key: its own, and with each "St"-like word
    replaced by the others of its group (when there are other words). Empty when the query has
    no letter or digit."""
    choices: list[tuple[str, ...]] = []
    expanded = 0
    found = words(query)
    for word in found:
        group = next((group for group in SYNONYMS if word in group), None)
        if group is not None and len(found) > 1 and expanded < MAX_EXPANDED_WORDS:
            expanded += 1
            choices.append((word, *(other for other in group if other != word)))
        else:
            choices.append((word,))
    if not choices:
        return []
    keys = ("".join(combination)[:KEY_LENGTH] for combination in itertools.product(*choices))
    return list(dict.fromkeys(keys))
