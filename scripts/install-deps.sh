#!/usr/bin/env bash
# Installs the Debian packages mlo needs to build and test, and those the example project's Python
# stages need. Does nothing when they are all present, so it is safe to run before every build.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libcli11-dev libyaml-cpp-dev libgit2-dev libssl-dev libfmt-dev catch2
  libsqlite3-dev libexpected-dev nlohmann-json3-dev scdoc
  libboost-dev curl openssl           # Boost.Beast/Asio for mlo serve; curl and openssl for its tests
  python3-sklearn python3-pandas   # the stages of examples/churn (run by /usr/bin/python3)
  chromium                         # test_monitor renders the HTML report headless to a screenshot
  slurmctld slurmd munge slurm-client  # a single-node Slurm for the tests of `executor: slurm`
  python3-yaml                     # tests/e2e/test_init_ci.sh parses the written CI workflows
  libcurl4-openssl-dev             # S3 remotes: HTTP with kept-alive connections and SigV4 signing
  nodejs                           # the remote tests' S3-compatible server (s3rver, installed by npm)
)
# Debian's npm; a nodejs from elsewhere (NodeSource) bundles its own npm and conflicts with it.
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
