#!/usr/bin/env bash
# Long fuzz campaigns through the same tests ./test.sh runs with 100000 inputs per parser.
#
#   bench/fuzz.sh                                  # 10M mutated inputs per parser, seed "random"
#   ITERATIONS=1000000 SEED=42 bench/fuzz.sh       # a shorter run, or a replay of a reported seed
#   FILTER=Amf0 bench/fuzz.sh                      # one parser (a test-name fragment)
#
# A failure prints the parser, the run seed, the iteration and the input in hex: add the input to that parser's
# case table as a malformed-input test, fix the parser, and re-run with SEED set to the reported seed.
# Nothing is measured here, so nothing goes to RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ITERATIONS=${ITERATIONS:-10000000}
SEED=${SEED:-random}
FILTER=${FILTER:-}

filter="FullyQualifiedName~Fuzzing"
[ -n "$FILTER" ] && filter="$filter&FullyQualifiedName~$FILTER"

if [ "${BUILD:-1}" != 0 ]; then
  dotnet build tests/Broadcast.Ingest.Tests -c Release -nologo -v q
  dotnet build tests/Broadcast.Media.Tests -c Release -nologo -v q
fi

status=0
for project in tests/Broadcast.Ingest.Tests tests/Broadcast.Media.Tests; do
  echo "== $project: $ITERATIONS inputs per parser, seed $SEED" >&2
  BROADCAST_FUZZ_ITERATIONS=$ITERATIONS BROADCAST_FUZZ_SEED=$SEED \
    dotnet test "$project" -c Release --no-build -nologo --filter "$filter" \
      --logger "console;verbosity=detailed" || status=1
done
exit $status
