#!/usr/bin/env python3
"""A held-out evaluation set for the company matcher, written apart from the
Rust generator the matcher is tuned on (crates/trellis-bench/src/companies.rs)
and by different rules: Faker company names and cities in 12 locales, with
their own legal forms, industry words, abbreviations and noise.

Nothing here is shared with the tuning generator: not the vocabulary, not the
noise, not the random generator. Do not tune the matcher on its output; see
docs/benchmarks.md ("Conflict detection: quality on held-out data").

Records (the vendor's accounts): Faker company names, often with an industry
word, a legal form of their country, a city from a pool per country and a
domain. A few are the same name in another city or country (other companies).

Queries, each labelled with the record it duplicates or empty for a company not
in the records:
- duplicates with one to three of: legal form dropped, swapped or spelled out;
  abbreviations (Technologies → Tech., International → Int'l, and → &); word
  order changed; a qualifier added ("(Porto)", "- Berlin office", "Holding");
  the industry word dropped; a keyboard typo; case; accents stripped; the
  domain as URL or e-mail, or missing; the city missing or written otherwise;
- new companies: fresh Faker names; near names (the same surnames with another
  industry word, or one surname changed); the same name in another city of the
  same country; the same name in another country.

usage: heldout_companies.py OUT_DIR --records 20000 --queries 2000 [--seed 1]
writes OUT_DIR/records.csv (id,name,domain,country,city) and
OUT_DIR/queries.csv (id,name,domain,country,city,truth,case)
"""
import argparse
import csv
import os
import random
import re
import unicodedata

from faker import Faker

LOCALES = {
    "en_US": ("US", "com", ["Inc.", "LLC", "Corp.", "Incorporated", "Co."]),
    "en_GB": ("GB", "co.uk", ["Ltd", "Limited", "plc", "LLP"]),
    "de_DE": ("DE", "de", ["GmbH", "AG", "GmbH & Co. KG", "KG", "mbH"]),
    "fr_FR": ("FR", "fr", ["SA", "SAS", "SARL", "S.A.S.", "EURL"]),
    "es_ES": ("ES", "es", ["S.L.", "S.A.", "SL", "S.L.U."]),
    "it_IT": ("IT", "it", ["S.p.A.", "S.r.l.", "SRL", "SpA"]),
    "pt_BR": ("BR", "com.br", ["Ltda.", "S.A.", "Ltda", "S/A"]),
    "pt_PT": ("PT", "pt", ["Lda.", "S.A.", "Lda"]),
    "nl_NL": ("NL", "nl", ["B.V.", "BV", "N.V."]),
    "pl_PL": ("PL", "pl", ["Sp. z o.o.", "S.A.", "sp. z o.o."]),
    "sv_SE": ("SE", "se", ["AB", "Aktiebolag", "HB"]),
    "da_DK": ("DK", "dk", ["A/S", "ApS"]),
}

# Industry words, in English and the locale's language: real company names
# mix both.
INDUSTRY = [
    "Software", "Networks", "Consulting", "Logistics", "Technologies", "Systems",
    "Solutions", "Services", "Group", "Holding", "Partners", "Engineering",
    "Manufacturing", "Capital", "Media", "Analytics", "Digital", "Energy",
    "Security", "Labs", "Trading", "Industries", "International", "Finance",
    "Foods", "Pharma", "Health", "Retail", "Construction", "Design",
    "Bau", "Technik", "Informatik", "Conseil", "Ingénierie", "Servicios",
    "Tecnología", "Informatica", "Costruzioni", "Serviços", "Tecnologia",
    "Techniek", "Bouw", "Usługi", "Teknik", "Byg",
]
ABBREV = [
    ("Technologies", "Tech."), ("International", "Int'l"), ("Manufacturing", "Mfg."),
    ("Services", "Svc."), ("Engineering", "Engg."), ("Brothers", "Bros."),
    ("Company", "Co."), ("Corporation", "Corp."), ("Associates", "Assoc."),
    ("Management", "Mgmt."), ("Industries", "Ind."), ("Holding", "Hldg."),
    ("Systems", "Sys."), ("Solutions", "Sol."), ("Consulting", "Consult."),
    ("Software", "SW"), ("Laboratories", "Labs"), ("Logistics", "Log."),
    (" and ", " & "), (" e ", " & "), (" y ", " & "), (" und ", " & "),
]
SPELLED_OUT = {
    "GmbH": "Gesellschaft mit beschränkter Haftung", "AG": "Aktiengesellschaft",
    "Inc.": "Incorporated", "Ltd": "Limited", "S.A.": "Sociedad Anónima",
    "AB": "Aktiebolag", "Corp.": "Corporation",
}
QUALIFIERS = ["({city})", "- {city}", "{city} Branch", "Holding", "Group", "({city} office)",
              "{city}", "Europe", "Worldwide"]
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"
NEIGHBOURS = {c: "" for c in KEYBOARD}
for row in ["qwertyuiop", "asdfghjkl", "zxcvbnm"]:
    for i, c in enumerate(row):
        NEIGHBOURS[c] = row[max(0, i - 1):i] + row[i + 1:i + 2]


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def rough_key(name):
    """A crude key to keep record names apart (not the matcher's normalisation)."""
    s = strip_accents(name).lower()
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return " ".join(w for w in s.split() if len(w) > 2 and w not in {"gmbh", "ltd", "inc", "llc", "ltda", "lda", "sas", "sarl", "spa", "srl"})


def slug(name):
    s = strip_accents(name).lower()
    s = re.sub(r"[^a-z0-9]+", "", s.split(",")[0])
    return s[:24]


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.fakers = {}
        self.cities = {}
        for i, loc in enumerate(LOCALES):
            f = Faker(loc)
            f.seed_instance(seed * 100 + i)
            self.fakers[loc] = f
            pool = []
            while len(pool) < 25:
                c = f.city()
                if c not in pool:
                    pool.append(c)
            self.cities[loc] = pool

    def base(self, loc):
        f = self.fakers[loc]
        name = f.company()
        # Faker sometimes ends in a legal form: keep it as the base.
        if self.rng.random() < 0.55:
            name = f"{name} {self.rng.choice(INDUSTRY)}"
        return name

    def record(self, loc, base, city=None, domain=True):
        country, tld, forms = LOCALES[loc]
        name = base
        if self.rng.random() < 0.5 and not any(base.endswith(x) for x in forms):
            name = f"{base} {self.rng.choice(forms)}"
        city = city or self.rng.choice(self.cities[loc])
        dom = f"{slug(base)}.{tld}" if domain and self.rng.random() < 0.6 and slug(base) else ""
        return {"name": name, "domain": dom, "country": country,
                "city": city if self.rng.random() < 0.92 else "", "loc": loc}

    def typo(self, word):
        if len(word) < 4:
            return word
        i = self.rng.randrange(1, len(word) - 1)
        c = word[i].lower()
        kind = self.rng.random()
        if kind < 0.5 and NEIGHBOURS.get(c):
            return word[:i] + self.rng.choice(NEIGHBOURS[c]) + word[i + 1:]
        if kind < 0.75:
            return word[:i] + word[i] + word[i:]
        return word[:i] + word[i + 1:]

    def distort(self, r):
        loc = r["loc"]
        country, tld, forms = LOCALES[loc]
        name, dom, city = r["name"], r["domain"], r["city"]
        kinds = []
        for _ in range(self.rng.choice([1, 1, 2, 2, 3])):
            k = self.rng.choice(["form", "form", "abbrev", "order", "qualifier", "drop_word",
                                 "typo", "case", "accents", "domain", "no_domain", "no_city", "city"])
            kinds.append(k)
            if k == "form":
                f = next((x for x in sorted(forms + list(SPELLED_OUT.values()), key=len, reverse=True)
                          if name.endswith(" " + x)), None)
                if f:
                    name = name[: -len(f)].rstrip(" ,")
                    roll = self.rng.random()
                    if roll < 0.3:
                        name = f"{name} {self.rng.choice(forms)}"
                    elif roll < 0.45 and f in SPELLED_OUT:
                        name = f"{name} {SPELLED_OUT[f]}"
                else:
                    name = f"{name}, {self.rng.choice(forms)}"
            elif k == "abbrev":
                for long, short in self.rng.sample(ABBREV, len(ABBREV)):
                    if long in name:
                        name = name.replace(long, short, 1)
                        break
            elif k == "order":
                words = name.split()
                if len(words) >= 2:
                    i = self.rng.randrange(len(words) - 1)
                    words[i], words[i + 1] = words[i + 1], words[i]
                    name = " ".join(words)
            elif k == "qualifier":
                q = self.rng.choice(QUALIFIERS).format(city=city or self.rng.choice(self.cities[loc]))
                name = f"{name} {q}"
            elif k == "drop_word":
                words = name.split()
                inds = [i for i, w in enumerate(words) if w in INDUSTRY]
                if inds and len(words) > 1:
                    del words[inds[0]]
                    name = " ".join(words)
            elif k == "typo":
                words = name.split()
                longw = [i for i, w in enumerate(words) if len(w) >= 5]
                if longw:
                    i = self.rng.choice(longw)
                    words[i] = self.typo(words[i])
                    name = " ".join(words)
            elif k == "case":
                name = name.upper() if self.rng.random() < 0.5 else name.lower()
            elif k == "accents":
                name = strip_accents(name)
            elif k == "domain" and dom:
                dom = self.rng.choice([f"https://www.{dom}", f"info@{dom}", f"www.{dom}/kontakt",
                                       f"http://{dom}", f"sales@{dom}"])
            elif k == "no_domain":
                dom = ""
            elif k == "no_city":
                city = ""
            elif k == "city" and city:
                city = self.rng.choice([city.upper(), strip_accents(city), city.split()[0],
                                        city.lower()])
        return {"name": name, "domain": dom, "country": country, "city": city}, "+".join(kinds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-share", type=float, default=0.6)
    a = ap.parse_args()
    g = Gen(a.seed)
    rng = g.rng
    locs = list(LOCALES)
    records, seen = [], set()
    # Names of each country, so that "same name elsewhere" stays a new company.
    while len(records) < a.records:
        loc = rng.choice(locs)
        base = g.base(loc)
        key = (LOCALES[loc][0], rough_key(base))
        if not key[1] or key in seen:
            continue
        seen.add(key)
        r = g.record(loc, base)
        r["base"] = base
        records.append(r)
    for i, r in enumerate(records):
        r["id"] = f"r{i}"
    by_country_key = {}
    for r in records:
        by_country_key.setdefault((r["country"], rough_key(r["base"])), []).append(r)

    queries = []
    while len(queries) < a.queries:
        i = len(queries)
        if rng.random() < a.dup_share:
            r = rng.choice(records)
            q, case = g.distort(r)
            q.update(id=f"q{i}", truth=r["id"], case="dup:" + case)
            queries.append(q)
            continue
        roll = rng.random()
        r = rng.choice(records)
        loc = r["loc"]
        country = LOCALES[loc][0]
        if roll < 0.35:
            loc = rng.choice(locs)
            base, case = g.base(loc), "new:fresh"
        elif roll < 0.65:
            words = r["base"].split()
            ind = [j for j, w in enumerate(words) if w in INDUSTRY]
            if ind:
                words[ind[0]] = rng.choice([w for w in INDUSTRY if w != words[ind[0]]])
                base, case = " ".join(words), "new:other-industry"
            elif len(words) >= 2:
                j = rng.randrange(len(words))
                words[j] = g.fakers[loc].last_name()
                base, case = " ".join(words), "new:other-surname"
            else:
                base, case = f"{r['base']} {rng.choice(INDUSTRY)}", "new:added-industry"
                # An added word is a qualifier, i.e. a duplicate: make it a
                # different surname instead to keep the label honest.
                base, case = f"{g.fakers[loc].last_name()} {rng.choice(INDUSTRY)}", "new:surname-industry"
        elif roll < 0.85:
            if not r["city"]:
                continue
            others = [c for c in g.cities[loc] if c != r["city"]]
            base, case = r["base"], "new:same-name-other-city"
            q = g.record(loc, base, city=rng.choice(others), domain=False)
            q["city"] = q["city"] or rng.choice(others)
            q.update(id=f"q{i}", truth="", case=case)
            queries.append(q)
            continue
        else:
            loc = rng.choice([x for x in locs if LOCALES[x][0] != country])
            base, case = r["base"], "new:same-name-other-country"
        key = (LOCALES[loc][0], rough_key(base))
        if key in by_country_key:
            continue
        q = g.record(loc, base)
        q.update(id=f"q{i}", truth="", case=case)
        queries.append(q)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "records.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "domain", "country", "city"])
        for r in records:
            w.writerow([r["id"], r["name"], r["domain"], r["country"], r["city"]])
    with open(os.path.join(a.out, "queries.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "domain", "country", "city", "truth", "case"])
        for q in queries:
            w.writerow([q["id"], q["name"], q["domain"], q["country"], q["city"], q["truth"], q["case"]])
    print(f"{len(records)} records, {len(queries)} queries "
          f"({sum(1 for q in queries if q['truth'])} duplicates) in {a.out}")


if __name__ == "__main__":
    main()
