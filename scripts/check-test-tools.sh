#!/usr/bin/env bash
# Before `make test`: are the tools the emulator tests start installed? The Firestore and Pub/Sub
# tests run Google's official emulators through gcloud (`gcloud emulators firestore start`,
# `gcloud beta emulators pubsub start`), which need the gcloud CLI, its two emulator components
# and a Java runtime. Skipping those tests would hide the cloud adapters, so a missing tool stops
# the run here with the commands that install it, and this exits 1.
#
# GCLOUD names the gcloud executable to check (default: the one on PATH); tests set it to a path
# that does not exist to see the message on a machine that has gcloud.
# Install steps: https://cloud.google.com/sdk/docs/install#deb and
# https://cloud.google.com/sdk/docs/components
set -uo pipefail

gcloud="${GCLOUD:-$(command -v gcloud)}"
missing=()

if [ -z "$gcloud" ] || [ ! -x "$gcloud" ]; then
  missing+=("the gcloud CLI" "the Firestore emulator" "the Pub/Sub emulator")
else
  # Components live under the SDK root (<root>/bin/gcloud), in platform/<component>, for a
  # component-manager install and for Debian's google-cloud-cli-*-emulator packages alike.
  resolved="$(readlink -f "$gcloud")"
  root="${resolved%/bin/*}"
  [ -d "$root/platform/cloud-firestore-emulator" ] || missing+=("the Firestore emulator")
  [ -d "$root/platform/pubsub-emulator" ] || missing+=("the Pub/Sub emulator")
  [ -d "$root/lib/surface/beta" ] || missing+=("gcloud's beta commands")
fi
command -v java >/dev/null || missing+=("a Java runtime")

[ ${#missing[@]} -eq 0 ] && exit 0

list=""
for tool in "${missing[@]}"; do list+="${list:+, }$tool"; done
# Bash builtins only from here (read, echo), so the message shows even on a bare PATH.
IFS= read -r -d '' how <<'EOF'

On Debian or Ubuntu, from Google's apt repository (https://cloud.google.com/sdk/docs/install#deb):

  sudo apt-get install -y apt-transport-https ca-certificates gnupg curl
  curl https://packages.cloud.google.com/apt/doc/apt-key.gpg \
    | sudo gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg
  echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" \
    | sudo tee /etc/apt/sources.list.d/google-cloud-sdk.list
  sudo apt-get update
  sudo apt-get install -y google-cloud-cli google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator

With the SDK installed from Google's archive instead (not apt):

  gcloud components install cloud-firestore-emulator pubsub-emulator beta

The emulators run on Java: `bash scripts/install-system-deps.sh --tests` installs Debian's
default-jre-headless when no java is on PATH.
EOF
echo "make test needs what the emulator tests start; missing: $list." >&2
echo "$how" >&2
exit 1
