#!/usr/bin/env bash
# Sanitizer and fuzzing stage of CI:
#   asan  ASan+UBSan build (preset asan-ubsan): every ctest test, then the pytest suites against
#         the instrumented server; any sanitizer report fails the stage, even one written by a
#         server process that a test stopped
#   tsan  ThreadSanitizer build (preset tsan) of the threaded unit tests: net.*, the
#         PasswdFileDb concurrency tests, the store's lock tests
#   fuzz  clang/libFuzzer build (preset fuzz): each fuzz target for FUZZ_SECONDS (default 30)
#         from its seed corpus; a crash, leak or timeout fails the stage
# Usage: .ci/sanitizers.sh [asan] [tsan] [fuzz]   (no argument: all three, in that order)
# Environment: FUZZ_SECONDS, SANITIZER_PYTEST_SUITES (default: tests/integration without the
# benchmark smoke test, whose throughput means nothing under ASan).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SUITES=${SANITIZER_PYTEST_SUITES:-tests/integration --ignore=tests/integration/test_bench_smoke.py}
REPORTS=$(mktemp -d "${TMPDIR:-/tmp}/mailport-sanitizers.XXXXXX")
trap 'rm -rf "$REPORTS"' EXIT

stamp() { echo "==> [$(date +%T)] $*"; }

# Reports go to files as well as stderr, so that a report from a server process (whose stderr a
# test fixture swallows) still fails the run.
fail_on_reports() {
  local found
  found=$(find "$REPORTS" -type f -size +0 | head -n 5)
  if [ -n "$found" ]; then
    echo "sanitizer reports:" >&2
    for report in $found; do cat "$report" >&2; done
    exit 1
  fi
}

stage_asan() {
  stamp "asan: configure and build (build-asan)"
  cmake --preset asan-ubsan -DMAILPORT_WERROR=ON >/dev/null
  ninja -C build-asan -j2
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:log_path=$REPORTS/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
  stamp "asan: unit tests (ctest)"
  ctest --test-dir build-asan -j2 --output-on-failure
  fail_on_reports
  stamp "asan: integration tests against the instrumented server ($SUITES)"
  # shellcheck disable=SC2086
  MAILPORT_BIN="$PWD/build-asan/src/cli/mailport" MAILPORT_SANITIZED=1 \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider $SUITES
  fail_on_reports
  unset ASAN_OPTIONS UBSAN_OPTIONS
}

stage_tsan() {
  stamp "tsan: configure and build the threaded unit tests (build-tsan)"
  # GCC warns that TSan does not model the fences Asio uses (-Wtsan); that is known, not a bug.
  cmake --preset tsan -DMAILPORT_WERROR=ON -DCMAKE_CXX_FLAGS=-Wno-tsan >/dev/null
  # The kernel's larger mmap randomisation breaks older TSan runtimes; setarch -R turns it off
  # for this process tree only (the build runs test binaries too, to list their tests).
  setarch "$(uname -m)" -R ninja -C build-tsan -j2 mailport_net_tests mailport_auth_tests \
    mailport_store_tests
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$REPORTS/tsan"
  stamp "tsan: net.*, auth.PasswdFileDb*, store lock tests"
  setarch "$(uname -m)" -R ctest --test-dir build-tsan -j2 --output-on-failure \
    -R '^(net\.|auth\.PasswdFileDb|store\..*[Ll]ock)'
  fail_on_reports
  unset TSAN_OPTIONS
}

stage_fuzz() {
  stamp "fuzz: configure and build (build-fuzz, clang)"
  cmake --preset fuzz -DMAILPORT_TESTS=OFF >/dev/null
  local targets
  # One libFuzzer executable per harness source.
  targets=$(cd fuzz && ls -1 -- *_fuzz.cpp | sed 's/\.cpp$//')
  # shellcheck disable=SC2086
  ninja -C build-fuzz -j2 $targets
  for target in $targets; do
    local name=${target%_fuzz}
    local scratch="$REPORTS/corpus-$name" args=() seeds=()
    mkdir -p "$scratch"
    [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
    [ -f "fuzz/$name.dict" ] && args+=("-dict=fuzz/$name.dict")
    [ "$name" = pop3_session ] && args+=("-dict=fuzz/pop3.dict")
    stamp "fuzz: $target for ${FUZZ_SECONDS}s"
    # New inputs go to a scratch directory; crashes land in build-fuzz/ for the CI log.
    "build-fuzz/fuzz/$target" "${args[@]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/$name-" \
      "$scratch" "${seeds[@]}" 2>"$REPORTS/fuzz-$name.log" ||
      { tail -n 60 "$REPORTS/fuzz-$name.log" >&2; exit 1; }
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$REPORTS/fuzz-$name.log" || true
    rm -f "$REPORTS/fuzz-$name.log"
  done
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)
started=$SECONDS
for stage in "${stages[@]}"; do
  case "$stage" in
    asan | tsan | fuzz) "stage_$stage" ;;
    *) echo "usage: $0 [asan] [tsan] [fuzz]" >&2; exit 64 ;;
  esac
done
stamp "sanitizer stages ${stages[*]} passed in $((SECONDS - started)) s"
