#!/usr/bin/env bash
# Sanitizer and fuzzing stage of CI:
#   asan  ASan+UBSan build (preset asan-ubsan): every ctest test, then the pytest suites against
#         the instrumented server; any sanitizer report fails the stage, even one written by a
#         server process that a test stopped
#   tsan  ThreadSanitizer build (preset tsan) of the threaded unit tests: net.* (TLS socket, login
#         service and blocking pools, metrics updated from many threads and scraped over HTTP,
#         the credential cache, PROXY reader), the PasswdFileDb concurrency tests, the store's
#         lock tests
#   fuzz  clang/libFuzzer build (preset fuzz): each fuzz target for FUZZ_SECONDS from its seed
#         corpus, FUZZ_JOBS targets at a time; a crash, leak or timeout fails the stage
# Usage: .ci/sanitizers.sh [--ci] [asan] [tsan] [fuzz]   (no stage: all three, in that order)
#   --ci  what .ci/run runs, to fit the CI time budget: FUZZ_SECONDS 25 and, in the asan stage,
#         tests/integration without the tests listed in CI_SKIP below
# Environment: FUZZ_SECONDS (default 30, --ci 25), FUZZ_JOBS (default 2),
#   SANITIZER_PYTEST_SUITES (default: tests/integration without the benchmark smoke test, whose
#   throughput means nothing under ASan). tests/interop, differential, e2e and cluster run only in
#   ./dev.sh test: they exercise other programs, or need PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

CI_PROFILE=0
if [ "${1:-}" = "--ci" ]; then
  CI_PROFILE=1
  shift
fi

# The --ci profile leaves out of the asan pass the integration tests that are slow and add little
# for memory safety; each is still run by ./dev.sh test on the normal build:
CI_SKIP=(
  # 40 SIGKILLs: a killed process writes no leak report, and the same session paths run
  # un-killed in the other fault tests.
  --deselect tests/integration/test_faults.py::test_sigkill_at_random_points_never_loses_or_duplicates
  # testssl.sh spends minutes in its own scripts; the server side is TLS handshakes, which
  # test_tls_ops.py's other tests and the pop3s tests drive too.
  --deselect tests/integration/test_tls_ops.py::test_testssl_finds_nothing_on_either_port
  # Unit-file checks by systemd-analyze; they do not start mailport.
  --ignore tests/integration/test_systemd_unit.py
  # fail2ban-regex on the text and JSON logs; the failed logins that write them are in
  # test_abuse.py and test_logs.py.
  --ignore tests/integration/test_fail2ban.py
  # Runs the CLI hundreds of times for its help text (minutes under ASan); the same command-line
  # parser runs in test_cli.py.
  --ignore tests/integration/test_completion_man.py
)

if [ "$CI_PROFILE" = 1 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-25}
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_JOBS=${FUZZ_JOBS:-2}
DEFAULT_SUITES="tests/integration --ignore=tests/integration/test_bench_smoke.py"
if [ "$CI_PROFILE" = 1 ]; then DEFAULT_SUITES="$DEFAULT_SUITES ${CI_SKIP[*]}"; fi
SUITES=${SANITIZER_PYTEST_SUITES:-$DEFAULT_SUITES}
REPORTS=$(mktemp -d "${TMPDIR:-/tmp}/mailport-sanitizers.XXXXXX")
trap 'rm -rf "$REPORTS"' EXIT

stamp() { echo "==> [$(date +%T)] $*"; }

# Reports go to files as well as stderr, so that a report from a server process (whose stderr a
# test fixture swallows) still fails the run.
fail_on_reports() {
  local found
  found=$(find "$REPORTS" -maxdepth 1 -type f -size +0 | head -n 5)
  if [ -n "$found" ]; then
    echo "sanitizer reports:" >&2
    for report in $found; do cat "$report" >&2; done
    exit 1
  fi
}

stage_asan() {
  stamp "asan: configure and build (build-asan)"
  cmake --preset asan-ubsan >/dev/null
  ninja -C build-asan -j2
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:log_path=$REPORTS/asan"
  export LSAN_OPTIONS="suppressions=$PWD/.ci/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
  stamp "asan: unit tests (ctest)"
  ctest --test-dir build-asan -j2 --output-on-failure
  fail_on_reports
  stamp "asan: integration tests against the instrumented server ($SUITES)"
  # GCC's UBSan ignores log_path and prints to stderr; the server fixtures copy such lines into
  # MAILPORT_SANITIZER_REPORTS (tests/conftest.py).
  # shellcheck disable=SC2086
  MAILPORT_BIN="$PWD/build-asan/src/cli/mailport" MAILPORT_SANITIZED=1 \
    MAILPORT_SANITIZER_REPORTS="$REPORTS" /usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=15 $SUITES
  fail_on_reports
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
}

stage_tsan() {
  stamp "tsan: configure and build the threaded unit tests (build-tsan)"
  cmake --preset tsan >/dev/null
  # The kernel's larger mmap randomisation breaks older TSan runtimes; setarch -R turns it off
  # for this process tree only (the build runs test binaries too, to list their tests).
  setarch "$(uname -m)" -R ninja -C build-tsan -j2 mailport_net_tests mailport_auth_tests \
    mailport_store_tests
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/.ci/tsan.supp:log_path=$REPORTS/tsan"
  stamp "tsan: net.*, auth.PasswdFileDb*, store lock tests"
  setarch "$(uname -m)" -R ctest --test-dir build-tsan -j2 --output-on-failure \
    -R '^(net\.|auth\.PasswdFileDb|store\..*[Ll]ock)'
  fail_on_reports
  unset TSAN_OPTIONS
}

# Runs one fuzz target for FUZZ_SECONDS; its log lands in $REPORTS/logs, never where
# fail_on_reports looks.
fuzz_one() {
  local target=$1 name=${1%_fuzz}
  local scratch="$REPORTS/logs/corpus-$name" log="$REPORTS/logs/fuzz-$name.log" args=() seeds=()
  mkdir -p "$scratch"
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  [ -f "fuzz/$name.dict" ] && args+=("-dict=fuzz/$name.dict")
  [ "$name" = pop3_session ] && args+=("-dict=fuzz/pop3.dict")
  # New inputs go to a scratch directory; crashes land in build-fuzz/ for the CI log.
  if "build-fuzz/fuzz/$target" "${args[@]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/$name-" \
    "$scratch" "${seeds[@]}" 2>"$log"; then
    stamp "fuzz: $target done: $(grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" |
      tr -s ' ' | tr '\n' ' ')"
  else
    stamp "fuzz: $target FAILED" >&2
    tail -n 60 "$log" >&2
    return 1
  fi
}

stage_fuzz() {
  stamp "fuzz: configure and build (build-fuzz, clang)"
  cmake --preset fuzz -DMAILPORT_TESTS=OFF >/dev/null
  local targets target failed=0 running=0
  # One libFuzzer executable per harness source.
  targets=$(cd fuzz && ls -1 -- *_fuzz.cpp | sed 's/\.cpp$//')
  # shellcheck disable=SC2086
  ninja -C build-fuzz -j2 $targets
  mkdir -p "$REPORTS/logs"
  stamp "fuzz: every target for ${FUZZ_SECONDS}s, $FUZZ_JOBS at a time"
  for target in $targets; do
    if [ "$running" -ge "$FUZZ_JOBS" ]; then
      wait -n || failed=1
      running=$((running - 1))
    fi
    fuzz_one "$target" &
    running=$((running + 1))
  done
  while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
  done
  [ "$failed" = 0 ] || exit 1
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)
started=$SECONDS
for stage in "${stages[@]}"; do
  case "$stage" in
    asan | tsan | fuzz)
      stage_started=$SECONDS
      "stage_$stage"
      stamp "$stage passed in $((SECONDS - stage_started)) s"
      ;;
    *) echo "usage: $0 [--ci] [asan] [tsan] [fuzz]" >&2; exit 64 ;;
  esac
done
stamp "sanitizer stages ${stages[*]} passed in $((SECONDS - started)) s"
