#!/usr/bin/env bash
# Debian packages diagpro needs beyond Python: Pango/HarfBuzz for WeasyPrint (harfbuzz-subset
# makes renders ~6x faster and silences a DeprecationWarning), a font, and Noto CJK and Noto
# Color Emoji, the report's fallbacks for Chinese, Japanese, Korean and emoji (DejaVu has none).
# With --tests also poppler-utils (PDF checks), Debian's Chromium and its driver (the browser
# test; a test tool's own browser download does not work offline) and, when no java is on PATH,
# Debian's Java runtime for Google's Firestore and Pub/Sub emulators. Debian does not package
# gcloud or the emulators: scripts/check-test-tools.sh (run by make test) says how to get them
# from Google. With --bench also wrk, the load generator of bench/http_bench.py.
# Installs only what is missing.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
  fonts-noto-cjk fonts-noto-color-emoji)
if [ "${1:-}" = "--tests" ]; then
  packages+=(poppler-utils chromium chromium-driver)
  command -v java >/dev/null || packages+=(default-jre-headless)
fi
if [ "${1:-}" = "--bench" ]; then
  packages+=(wrk)  # the HTTP benchmark's load generator (bench/README.md)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "diagpro needs these Debian/Ubuntu packages (or your system's equivalents): ${missing[*]}" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
