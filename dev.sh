#!/usr/bin/env bash
# One entry point for people and CI on Debian 12:
#   ./dev.sh serve [serve flags...]  install what is missing, build, run the server (embedded default)
#   ./dev.sh test                    install what is missing, build, run every test suite
#   ./dev.sh build                   install what is missing and build
#   ./dev.sh sanitize [--ci] [asan|tsan|fuzz]  ASan+UBSan, TSan and libFuzzer stages (.ci/sanitizers.sh;
#                                    --ci is what .ci/run runs)
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${MAILPORT_BUILD_DIR:-build}
PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libasio-dev libssl-dev openssl libtomlplusplus-dev libfmt-dev libspdlog-dev libcli11-dev
  libsodium-dev libargon2-dev libcrypt-dev libgsasl-dev prometheus-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev python3 python3-pytest curl dovecot-pop3d postfix
  fetchmail getmail6 libmail-pop3client-perl libio-socket-ssl-perl neomutt mailutils fail2ban
  testssl.sh systemd haproxy
  postgresql libpq-dev
)
# Only the sanitizer and fuzzing stages need these.
SANITIZER_PACKAGES=(clang libclang-rt-14-dev)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  # Postfix (for the end-to-end delivery tests) must not configure or start a system instance.
  if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
    echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
  fi
  local missing=()
  for package in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}"
  fi
}

build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILPORT_WERROR=ON >/dev/null
  ninja -C "$BUILD_DIR" -j2
}

run_tests() {
  echo "==> unit tests (ctest)"
  ctest --test-dir "$BUILD_DIR" -j2 --output-on-failure
  echo "==> integration tests (pytest: real clients and servers on loopback)"
  local suites=()
  for suite in integration interop differential e2e cluster; do
    [ -d "tests/$suite" ] && suites+=("tests/$suite")
  done
  MAILPORT_BIN="$PWD/$BUILD_DIR/src/cli/mailport" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "${suites[@]}"
}

command=${1:-}
shift || true
case "$command" in
  serve) install_missing; build; exec "$BUILD_DIR/src/cli/mailport" serve "$@" ;;
  build) install_missing; build ;;
  test) install_missing; build; run_tests ;;
  sanitize) install_missing "${SANITIZER_PACKAGES[@]}"; exec .ci/sanitizers.sh "$@" ;;
  *) echo "usage: $0 serve|build|test|sanitize" >&2; exit 64 ;;
esac
