"""Write the sample plans of every shipped template as JSON (run with the PRE-accounts code).

The golden file ``data/sample_plans_before_accounts.json`` was written by running this
script against commit e78b9ab (the code before household planning existed):

    git archive e78b9ab addin | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base/addin python tests/accounts/make_golden.py > tests/accounts/data/...

so the test that reads it compares today's output with what the old code produced.
"""

import json
import sys

from etf_rebalancer.workbook.portfolios import PORTFOLIOS
from etf_rebalancer.workbook.templates import sample_plan

out = {}
for portfolio in PORTFOLIOS:
    for lang in ("en", "ko"):
        out[f"{portfolio.slug}_{lang}"] = sample_plan(portfolio, lang)
json.dump(out, sys.stdout, ensure_ascii=False, indent=1, default=str)
