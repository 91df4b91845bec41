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

filter="FullyQualifiedName~Fuzz"
[ -n "$FILTER" ] && filter="$filter&FullyQualifiedName~$FILTER"

# Every test project with fuzz entries (a test that runs FuzzRunner, its class or method named *Fuzz*): ingest's and
# media's wire formats, the packager's, origin's (CMCD, steering overrides), control's, WebRTC's, the compositor's.
mapfile -t projects < <(grep -rl --include='*.cs' 'FuzzRunner.Run' tests | cut -d/ -f1-2 | sort -u | grep -v TestSupport)

if [ "${BUILD:-1}" != 0 ]; then
  for project in "${projects[@]}"; do dotnet build "$project" -c Release -nologo -v q; done
fi

status=0
for project in "${projects[@]}"; do
  echo "== $project: $ITERATIONS inputs per parser, seed $SEED" >&2
  BROADCAST_FUZZ_ITERATIONS=$ITERATIONS BROADCAST_FUZZ_SEED=$SEED \
    dotnet test "$project" -c Release --no-build -nologo --filter "$filter" \
      --logger "console;verbosity=detailed" || status=1
done
exit $status
