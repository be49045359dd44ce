#!/usr/bin/env python3
"""The peer of `trellis bench incentives`: the same rebate computation as DuckDB SQL.

Over the same sales CSV, partners CSV (slug, partner_type) and FX CSV, computes for the
period [start, end) per partner:
  - cloud-volume: resellers, family cloud, retroactive bands 0 % from 0, 2 % from
    100,000, 4 % from 250,000 (USD);
  - mdf-accrual: every partner, families cloud and ai, 2 %;
amounts rounded half to even to the cent (as Trellis does, in Python's decimal on the
exact DECIMAL sums DuckDB returns). Prints one JSON object: seconds for the query and
the amounts per partner and rule.

usage: incentives_peer.py SALES.csv PARTNERS.csv FX.csv START END
"""
import json
import sys
import time
from decimal import Decimal, ROUND_HALF_EVEN

import duckdb


def main():
    sales, partners, fx, start, end = sys.argv[1:6]
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    t = time.perf_counter()
    rows = con.execute(
        f"""
        WITH s AS (
          SELECT partner, sku, CAST(quantity AS DECIMAL(38,4)) AS q, CAST(unit_price AS DECIMAL(38,4)) AS p,
                 currency, CAST(date AS DATE) AS d
          FROM read_csv('{sales}', header = true, all_varchar = true)
        ),
        fam AS (SELECT * FROM (VALUES ('AUR-CL-100','cloud'),('AUR-CL-500','cloud'),('AUR-AI-1','ai'),('AUR-SVC-ONB','services')) t(sku, family)),
        rate AS (
          SELECT from_currency AS c, CAST(rate AS DECIMAL(38,8)) AS r
          FROM read_csv('{fx}', header = true, all_varchar = true)
          UNION ALL SELECT 'USD', 1
        ),
        pt AS (SELECT * FROM read_csv('{partners}', header = true, all_varchar = true)),
        rev AS (
          SELECT s.partner, f.family, SUM(s.q * s.p * rate.r) AS revenue
          FROM s JOIN fam f USING (sku) JOIN rate ON rate.c = s.currency
          WHERE s.d >= DATE '{start}' AND s.d < DATE '{end}'
          GROUP BY s.partner, f.family
        )
        SELECT r.partner, 'cloud-volume' AS rule, r.revenue,
               CASE WHEN r.revenue >= 250000 THEN 4 WHEN r.revenue >= 100000 THEN 2 ELSE 0 END AS pct
        FROM rev r JOIN pt ON pt.slug = r.partner
        WHERE r.family = 'cloud' AND pt.partner_type = 'reseller' AND r.revenue > 0
        UNION ALL
        SELECT partner, 'mdf-accrual', GREATEST(SUM(revenue), 0), 2
        FROM rev WHERE family IN ('cloud', 'ai') GROUP BY partner
        """
    ).fetchall()
    seconds = time.perf_counter() - t
    cents = Decimal("0.01")
    amounts = {}
    for partner, rule, revenue, pct in rows:
        # DuckDB divides DECIMALs as DOUBLE, which misrounds a half cent now
        # and then: the sums are exact DECIMALs, the rate is applied here.
        amount = Decimal(revenue) * pct / 100
        amounts[f"{partner}/{rule}"] = str(amount.quantize(cents, rounding=ROUND_HALF_EVEN))
    print(json.dumps({"peer": "duckdb " + duckdb.__version__, "seconds": seconds, "amounts": amounts}))


if __name__ == "__main__":
    main()
