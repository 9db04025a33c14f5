#!/usr/bin/env bash
# Prints ROWS rows of synthetic customer data, deterministic for a given SEED.
#   make_data.sh ROWS SEED
set -euo pipefail
rows=$1 seed=$2
awk -v rows="$rows" -v seed="$seed" 'BEGIN {
  srand(seed)
  print "customer_id,tenure,plan,monthly_charges,churned"
  split("basic,plus,premium", plans, ",")
  for (i = 1; i <= rows; i++) {
    tenure = int(rand() * 72)
    plan = plans[1 + int(rand() * 3)]
    charges = sprintf("%.2f", 20 + rand() * 80)
    churned = (rand() * 72 > tenure + 20) ? 1 : 0
    printf "%d,%d,%s,%s,%d\n", i, tenure, plan, charges, churned
  }
}'
