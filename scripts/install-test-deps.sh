#!/bin/sh
# Installs what the tests need from Debian and that npm cannot give: the chromium package, whose headless browser
# runs the end-to-end tests and whose SwiftShader (/usr/lib/chromium) gives WebGPU on machines without a GPU.
# Does nothing when chromium is already there; uses sudo only when not root.
set -eu
if command -v chromium >/dev/null 2>&1 && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
