"""Name lists for synthetic people: common US given names and surnames, nicknames, rare surnames.

The lists are short hand-made approximations of US frequency (a few surnames such as Smith or
Nguyen are common, most are rare) so that name agreement carries the weight it does in real
linkage. Every person is an invented combination; rare surnames are built from syllables.
"""

from __future__ import annotations

import random
from itertools import accumulate

# (name, relative weight). Weights blend several birth decades: the city has all ages.
MALE_FIRST: tuple[tuple[str, int], ...] = (
    ("James", 90), ("Michael", 95), ("Robert", 85), ("John", 85), ("David", 80),
    ("William", 75), ("Richard", 50), ("Joseph", 55), ("Thomas", 50), ("Christopher", 60),
    ("Charles", 45), ("Daniel", 60), ("Matthew", 55), ("Anthony", 45), ("Mark", 35),
    ("Steven", 40), ("Andrew", 40), ("Joshua", 40), ("Kenneth", 30), ("Kevin", 35),
    ("Brian", 35), ("Timothy", 30), ("Ronald", 25), ("Jason", 35), ("George", 25),
    ("Edward", 25), ("Jeffrey", 25), ("Ryan", 30), ("Jacob", 30), ("Nicholas", 28),
    ("Gary", 20), ("Eric", 25), ("Jonathan", 25), ("Stephen", 22), ("Larry", 18),
    ("Justin", 22), ("Scott", 20), ("Brandon", 22), ("Benjamin", 25), ("Samuel", 20),
    ("Gregory", 18), ("Alexander", 22), ("Patrick", 18), ("Frank", 15), ("Raymond", 15),
    ("Jack", 15), ("Dennis", 14), ("Jerry", 14), ("Tyler", 18), ("Aaron", 15),
    ("Jose", 20), ("Adam", 15), ("Nathan", 15), ("Henry", 12), ("Zachary", 12),
    ("Douglas", 12), ("Peter", 12), ("Kyle", 12), ("Noah", 14), ("Ethan", 14),
    ("Jeremy", 12), ("Walter", 10), ("Christian", 10), ("Keith", 10), ("Roger", 9),
    ("Terry", 9), ("Austin", 10), ("Sean", 10), ("Gerald", 8), ("Carl", 8),
    ("Harold", 8), ("Dylan", 9), ("Arthur", 7), ("Lawrence", 7), ("Jordan", 9),
    ("Jesse", 8), ("Bryan", 8), ("Billy", 7), ("Bruce", 7), ("Gabriel", 8),
    ("Joe", 7), ("Logan", 7), ("Alan", 7), ("Juan", 9), ("Albert", 6), ("Willie", 6),
    ("Elijah", 7), ("Wayne", 6), ("Randy", 6), ("Vincent", 6), ("Mason", 7),
    ("Roy", 6), ("Ralph", 5), ("Bobby", 5), ("Russell", 5), ("Bradley", 5),
    ("Philip", 5), ("Eugene", 5), ("Luis", 8), ("Carlos", 8), ("Minh", 3), ("Tuan", 3),
    ("Wei", 3), ("Jamal", 4), ("DeShawn", 3), ("Malik", 3), ("Tyrone", 3), ("Darnell", 3),
)  # fmt: skip

FEMALE_FIRST: tuple[tuple[str, int], ...] = (
    ("Mary", 80), ("Patricia", 55), ("Jennifer", 65), ("Linda", 50), ("Elizabeth", 55),
    ("Barbara", 45), ("Susan", 45), ("Jessica", 50), ("Sarah", 50), ("Karen", 40),
    ("Lisa", 40), ("Nancy", 35), ("Betty", 25), ("Sandra", 30), ("Margaret", 30),
    ("Ashley", 40), ("Kimberly", 35), ("Emily", 35), ("Donna", 28), ("Michelle", 35),
    ("Carol", 25), ("Amanda", 35), ("Melissa", 32), ("Deborah", 28), ("Stephanie", 30),
    ("Dorothy", 18), ("Rebecca", 25), ("Sharon", 22), ("Laura", 25), ("Cynthia", 22),
    ("Amy", 25), ("Kathleen", 20), ("Angela", 25), ("Shirley", 15), ("Brenda", 18),
    ("Emma", 20), ("Anna", 18), ("Pamela", 16), ("Nicole", 22), ("Samantha", 20),
    ("Katherine", 20), ("Christine", 18), ("Helen", 12), ("Debra", 15), ("Rachel", 18),
    ("Carolyn", 12), ("Janet", 12), ("Maria", 22), ("Catherine", 15), ("Heather", 16),
    ("Diane", 12), ("Olivia", 15), ("Julie", 14), ("Joyce", 10), ("Victoria", 12),
    ("Ruth", 9), ("Virginia", 8), ("Lauren", 12), ("Kelly", 12), ("Christina", 12),
    ("Joan", 8), ("Evelyn", 8), ("Judith", 8), ("Andrea", 10), ("Hannah", 10),
    ("Megan", 10), ("Cheryl", 8), ("Jacqueline", 8), ("Martha", 7), ("Madison", 9),
    ("Teresa", 8), ("Gloria", 7), ("Sara", 8), ("Janice", 6), ("Ann", 7), ("Kathryn", 7),
    ("Abigail", 7), ("Sophia", 8), ("Frances", 5), ("Jean", 5), ("Alice", 5),
    ("Judy", 5), ("Isabella", 7), ("Julia", 7), ("Grace", 6), ("Amber", 7), ("Denise", 6),
    ("Danielle", 7), ("Marilyn", 4), ("Beverly", 4), ("Charlotte", 5), ("Natalie", 6),
    ("Theresa", 5), ("Diana", 5), ("Brittany", 6), ("Doris", 3), ("Kayla", 5),
    ("Alexis", 5), ("Lori", 5), ("Guadalupe", 4), ("Linh", 3), ("Mai", 3), ("Mei", 3),
    ("Aaliyah", 3), ("Keisha", 3), ("Latoya", 3), ("Ebony", 3), ("Rosa", 4),
)  # fmt: skip

NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"), "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "Richard": ("Rick", "Dick", "Rich", "Ricky"), "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Johnny", "Jack"), "Michael": ("Mike", "Mikey"), "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"), "Christopher": ("Chris", "Topher"), "Charles": ("Chuck", "Charlie"),
    "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",), "Anthony": ("Tony",),
    "Steven": ("Steve",), "Stephen": ("Steve",), "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",), "Kenneth": ("Ken", "Kenny"), "Timothy": ("Tim", "Timmy"),
    "Ronald": ("Ron", "Ronnie"), "Edward": ("Ed", "Eddie", "Ted"), "Jeffrey": ("Jeff",),
    "Jacob": ("Jake",), "Nicholas": ("Nick", "Nicky"), "Gregory": ("Greg",),
    "Alexander": ("Alex", "Xander"), "Patrick": ("Pat",), "Raymond": ("Ray",),
    "Benjamin": ("Ben", "Benny"), "Samuel": ("Sam", "Sammy"), "Jonathan": ("Jon",),
    "Lawrence": ("Larry",), "Gerald": ("Jerry",), "Douglas": ("Doug",), "Peter": ("Pete",),
    "Zachary": ("Zach",), "Nathan": ("Nate",), "Walter": ("Walt",), "Harold": ("Harry",),
    "Albert": ("Al",), "Eugene": ("Gene",), "Philip": ("Phil",), "Frank": ("Frankie",),
    "Henry": ("Hank",), "Vincent": ("Vince",), "Bradley": ("Brad",), "Russell": ("Russ",),
    "Elizabeth": ("Liz", "Beth", "Betsy", "Lizzie", "Eliza"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Patricia": ("Pat", "Patty", "Trish"), "Jennifer": ("Jen", "Jenny"), "Barbara": ("Barb",),
    "Susan": ("Sue", "Susie"), "Jessica": ("Jess",), "Kimberly": ("Kim",),
    "Deborah": ("Deb", "Debbie"), "Debra": ("Deb", "Debbie"), "Rebecca": ("Becky", "Becca"),
    "Katherine": ("Kate", "Katie", "Kathy"), "Kathleen": ("Kathy", "Kate"),
    "Catherine": ("Cathy", "Cat"), "Christine": ("Chris", "Chrissy"), "Christina": ("Tina",),
    "Samantha": ("Sam",), "Victoria": ("Vicky", "Tori"), "Cynthia": ("Cindy",),
    "Pamela": ("Pam",), "Stephanie": ("Steph",), "Amanda": ("Mandy",), "Jacqueline": ("Jackie",),
    "Judith": ("Judy",), "Dorothy": ("Dot", "Dottie"), "Abigail": ("Abby",),
    "Alexis": ("Lexi",), "Theresa": ("Terri",), "Teresa": ("Terri",), "Virginia": ("Ginny",),
    "Isabella": ("Bella", "Izzy"), "Madison": ("Maddie",), "Natalie": ("Nat",),
    "Frances": ("Fran",), "Danielle": ("Dani",), "Andrea": ("Andi",),
}  # fmt: skip

# Common surnames with the race/ethnicity they skew to (NIBRS race code, Hispanic flag), used
# only so that a person's recorded race is not independent of their name, as in real data.
COMMON_SURNAMES: tuple[tuple[str, int, str], ...] = (
    ("Smith", 240, ""), ("Johnson", 190, ""), ("Williams", 160, "B"), ("Brown", 140, ""),
    ("Jones", 140, ""), ("Garcia", 120, "H"), ("Miller", 115, "W"), ("Davis", 110, ""),
    ("Rodriguez", 100, "H"), ("Martinez", 100, "H"), ("Hernandez", 95, "H"), ("Lopez", 80, "H"),
    ("Gonzalez", 80, "H"), ("Wilson", 75, ""), ("Anderson", 75, "W"), ("Thomas", 70, ""),
    ("Taylor", 70, ""), ("Moore", 65, ""), ("Jackson", 65, "B"), ("Martin", 62, ""),
    ("Lee", 62, "A"), ("Perez", 60, "H"), ("Thompson", 58, ""), ("White", 58, ""),
    ("Harris", 55, "B"), ("Sanchez", 52, "H"), ("Clark", 50, ""), ("Ramirez", 50, "H"),
    ("Lewis", 48, ""), ("Robinson", 48, "B"), ("Walker", 46, ""), ("Young", 44, ""),
    ("Allen", 44, ""), ("King", 43, ""), ("Wright", 43, ""), ("Scott", 40, ""),
    ("Torres", 40, "H"), ("Nguyen", 60, "A"), ("Hill", 38, ""), ("Flores", 38, "H"),
    ("Green", 37, ""), ("Adams", 36, "W"), ("Nelson", 36, "W"), ("Baker", 35, "W"),
    ("Hall", 34, ""), ("Rivera", 34, "H"), ("Campbell", 33, ""), ("Mitchell", 33, ""),
    ("Carter", 32, ""), ("Roberts", 32, "W"), ("Tran", 30, "A"), ("Kim", 28, "A"),
    ("Phillips", 26, "W"), ("Evans", 26, ""), ("Turner", 26, ""), ("Diaz", 26, "H"),
    ("Parker", 25, ""), ("Cruz", 24, "H"), ("Edwards", 24, ""), ("Collins", 24, ""),
    ("Reyes", 24, "H"), ("Stewart", 23, ""), ("Morris", 23, ""), ("Morales", 22, "H"),
    ("Murphy", 22, "W"), ("Cook", 22, ""), ("Rogers", 21, ""), ("Gutierrez", 20, "H"),
    ("Ortiz", 20, "H"), ("Morgan", 20, ""), ("Cooper", 20, ""), ("Peterson", 20, "W"),
    ("Bailey", 19, ""), ("Reed", 19, ""), ("Kelly", 18, "W"), ("Howard", 18, ""),
    ("Ramos", 18, "H"), ("Cox", 17, ""), ("Ward", 17, ""), ("Richardson", 17, ""),
    ("Watson", 16, ""), ("Brooks", 16, "B"), ("Chavez", 16, "H"), ("Wood", 16, ""),
    ("James", 16, ""), ("Bennett", 15, ""), ("Gray", 15, ""), ("Mendoza", 15, "H"),
    ("Ruiz", 15, "H"), ("Hughes", 14, ""), ("Price", 14, ""), ("Alvarez", 14, "H"),
    ("Castillo", 14, "H"), ("Sanders", 14, ""), ("Patel", 14, "A"), ("Myers", 13, ""),
    ("Long", 13, ""), ("Ross", 13, ""), ("Foster", 13, ""), ("Jimenez", 13, "H"),
    ("Pham", 12, "A"), ("Le", 12, "A"), ("Chen", 14, "A"), ("Wang", 12, "A"), ("Yazzie", 4, "I"),
    ("Begay", 4, "I"), ("Tso", 2, "I"), ("Kealoha", 2, "P"), ("Tuiasosopo", 1, "P"),
    ("Washington", 12, "B"), ("Jefferson", 8, "B"), ("Okafor", 3, "B"), ("Haile", 3, "B"),
    ("O'Brien", 8, "W"), ("McDonald", 10, "W"), ("Van Dyke", 3, "W"), ("St. John", 2, "W"),
    ("Garcia-Lopez", 2, "H"), ("Smith-Jones", 1, ""),
)  # fmt: skip

_RARE_HEADS = (
    "Ash", "Brack", "Cald", "Dun", "Ell", "Fair", "Gald", "Hart", "Ives", "Kell", "Lang",
    "Marl", "Northe", "Oak", "Pell", "Quill", "Rad", "Sel", "Thorn", "Ud", "Vay", "Wen",
    "Yard", "Zell", "Brenn", "Cor", "Dray", "Fenn", "Grell", "Holl", "Kest", "Lorr", "Mab",
    "Nock", "Orm", "Pask", "Rill", "Stav", "Tull", "Varn", "Whit", "Bly", "Carr", "Dell",
)  # fmt: skip
_RARE_TAILS = (
    "by", "wick", "ford", "ley", "ton", "well", "more", "stead", "wood", "en", "ing", "ett",
    "low", "ridge", "dale", "ham", "croft", "son", "ard", "ow", "ick", "er", "man", "ins",
    "ey", "ock", "ade", "ster", "ish", "ue",
)  # fmt: skip
RARE_SURNAMES: tuple[str, ...] = tuple(h + t for h in _RARE_HEADS for t in _RARE_TAILS)
RARE_SURNAME_SHARE = 0.35
"""Share of people with a rare (syllable-built) surname: most surnames in a city are rare."""

MIDDLE_INITIAL_ONLY = 0.3


class NamePicker:
    """Weighted draws of names; one instance per random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._male = [n for n, _ in MALE_FIRST]
        self._male_cum = list(accumulate(w for _, w in MALE_FIRST))
        self._female = [n for n, _ in FEMALE_FIRST]
        self._female_cum = list(accumulate(w for _, w in FEMALE_FIRST))
        self._surnames = [(n, hint) for n, _, hint in COMMON_SURNAMES]
        self._surname_cum = list(accumulate(w for _, w, _ in COMMON_SURNAMES))

    def first(self, sex: str) -> str:
        """A given name for ``sex`` (``female`` or ``male``)."""
        if sex == "female":
            return self._rng.choices(self._female, cum_weights=self._female_cum)[0]
        return self._rng.choices(self._male, cum_weights=self._male_cum)[0]

    def middle(self, sex: str) -> str | None:
        """A middle name, an initial, or None (many records have none)."""
        roll = self._rng.random()
        if roll < 0.25:
            return None
        name = self.first(sex)
        return name[0] if roll < 0.25 + MIDDLE_INITIAL_ONLY else name

    def surname(self) -> tuple[str, str]:
        """A surname and the race hint it carries (empty when none)."""
        if self._rng.random() < RARE_SURNAME_SHARE:
            return self._rng.choice(RARE_SURNAMES), ""
        return self._rng.choices(self._surnames, cum_weights=self._surname_cum)[0]


def nickname(first: str, rng: random.Random) -> str | None:
    """A nickname for ``first``, or None when it has none."""
    options = NICKNAMES.get(first)
    return rng.choice(options) if options else None
