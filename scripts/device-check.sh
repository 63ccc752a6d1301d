#!/usr/bin/env bash
# scripts/device-check.sh [--dry] [--results FILE] [--port N]
#
# The first figures from a real GPU, on a fresh Linux machine with an NVIDIA GPU and no display, in under 8
# minutes: installs what it needs from Debian (a Vulkan loader, Chromium; Node if it has none), prints the adapter
# Dawn finds, runs the solver benchmark at Llama-7B's shapes (npm run bench -- --sizes 4096x4096,11008x4096),
# bench:e2e at Llama-7B's block shapes, and the demo in headless Chromium on that adapter, and writes the figures
# to bench/RESULTS.md. Each step has a time limit (the whole run 480 s) and ends with an "ok:" or a "FAILED:" line
# that says why (timed out, exit code, the last lines of its output); a failed step does not stop the later ones
# unless they need it, and the exit code is 1 if any step failed.
#
# --dry runs every step here, on the software adapter (SwiftShader from Debian's chromium), at tiny sizes and with
# twice the time (960 s in all: the software adapter shares the CPU with everything else), installs
# nothing (it only checks what a real run would install), and writes its results to FILE (default: a temporary
# folder) rather than bench/RESULTS.md. test/device-check.test.ts runs it. DEVICE_CHECK_BUDGET_S changes the budget.
set -uo pipefail

DRY=0
RESULTS=""
PORT=4175
while [ $# -gt 0 ]; do
  case "$1" in
    --dry) DRY=1 ;;
    --results) RESULTS="$2"; shift ;;
    --port) PORT="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "FAILED: unknown argument $1 (see --help)"; exit 2 ;;
  esac
  shift
done

cd "$(dirname "$0")/.." || exit 2
# The software adapter shares the CPU with whatever else runs: the dry run gets twice the time per step.
if [ "$DRY" = 1 ]; then SCALE=2; else SCALE=1; fi
BUDGET_S=${DEVICE_CHECK_BUDGET_S:-$((480 * SCALE))}
STARTED=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/device-check-XXXXXX")
if [ -z "$RESULTS" ]; then
  if [ "$DRY" = 1 ]; then RESULTS="$WORK/RESULTS.md"; else RESULTS="bench/RESULTS.md"; fi
fi
FAILED=0
declare -A STATUS

remaining() { echo $((BUDGET_S - ($(date +%s) - STARTED))); }

# step NAME LIMIT_S COMMAND…: runs COMMAND with its output in $WORK/NAME.log (and on the terminal), within
# LIMIT_S seconds and what is left of the budget.
step() {
  local name="$1" limit=$(($2 * SCALE))
  shift 2
  local left
  left=$(remaining)
  if [ "$left" -lt 10 ]; then
    echo "FAILED: $name skipped: the ${BUDGET_S}-second budget is spent"
    STATUS[$name]="skipped (budget spent)"
    FAILED=1
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (limit ${limit} s)"
  local begun=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$WORK/$name.log"
  local rc=${PIPESTATUS[0]}
  local took=$((SECONDS - begun))
  if [ $rc -eq 0 ]; then
    echo "ok: $name (${took} s)"
    STATUS[$name]="ok (${took} s)"
    return 0
  fi
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "FAILED: $name timed out after ${limit} s; last lines:"
    STATUS[$name]="timed out after ${limit} s"
  else
    echo "FAILED: $name exited with code $rc; last lines:"
    STATUS[$name]="failed (exit code $rc)"
  fi
  tail -n 8 "$WORK/$name.log" | sed 's/^/    /'
  FAILED=1
  return 1
}

# --- what the machine needs -------------------------------------------------------------------------------
need_packages=()
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] ||
  need_packages+=(libvulkan1)
command -v vulkaninfo > /dev/null || need_packages+=(vulkan-tools)
command -v "${CHROMIUM_PATH:-chromium}" > /dev/null || [ -x /usr/bin/chromium ] || need_packages+=(chromium)
node_major=$(node -p 'process.versions.node.split(".")[0]' 2> /dev/null || echo 0)
[ "$node_major" -ge 20 ] || need_packages+=(nodejs npm)

install_packages() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$DRY" = 1 ]; then
    echo "(dry: a real run would install from Debian: ${need_packages[*]})"
    [[ " ${need_packages[*]} " == *" nodejs "* ]] && { echo "FAILED: Node 20 or later is needed"; exit 1; }
  else
    export -f install_packages
    step install 200 bash -c 'install_packages "$@"' install "${need_packages[@]}" ||
      { echo "FAILED: cannot go on without ${need_packages[*]} (is apt reachable? are we root or sudoer?)"; exit 1; }
  fi
else
  echo "ok: Vulkan loader, vulkan-tools, Chromium and Node $(node --version) are installed"
fi

if [ ! -d node_modules ]; then
  step npm-ci 180 npm ci --no-audit --no-fund || { echo "FAILED: the project's npm dependencies are missing"; exit 1; }
fi

if [ "$DRY" = 1 ]; then
  # The software adapter, for Dawn in Node as for Chromium.
  export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
  export LD_LIBRARY_PATH="/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  BENCH_SIZES=64x64
  E2E_ARGS=(--hidden 128 --blocks 1 --nsamples 2 --seqlen 32 --eval-windows 1 --runs cold)
  DEMO_ARGS=(--software --port "$PORT" --timeout-s 200)
else
  # Never SwiftShader by accident: Dawn must find the GPU through its own Vulkan driver.
  export SPARSEGPT_NATIVE_GPU=1
  if ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json > /dev/null 2>&1; then
    echo "FAILED: no NVIDIA Vulkan driver (nvidia_icd.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d):" \
      "install the NVIDIA driver's Vulkan part (e.g. libnvidia-gl) first"
    exit 1
  fi
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  step vulkaninfo 30 vulkaninfo --summary
  BENCH_SIZES=4096x4096,11008x4096
  E2E_ARGS=(--llama7b --blocks 2 --runs cold,second)
  DEMO_ARGS=(--port "$PORT" --timeout-s 150)
fi

# --- the adapter, the benchmarks, the demo -------------------------------------------------------------------
step adapter 60 node bin/sparsegpt.mjs gpu-info || { echo "FAILED: Dawn found no usable adapter"; exit 1; }
step bench 150 npm run bench -- --sizes "$BENCH_SIZES"
step bench-e2e 170 npm run bench:e2e -- "${E2E_ARGS[@]}" --json "$WORK/e2e.json"
if [ -f dist/index.html ] || step build 90 npm run build; then
  step demo 200 node bin/run-ts.mjs scripts/demo-check.ts "${DEMO_ARGS[@]}"
fi

# --- the figures ---------------------------------------------------------------------------------------------
section() {
  local name="$1" title="$2" pattern="${3:-.}"
  echo
  echo "## $title (${STATUS[$name]:-not run})"
  echo
  echo '```'
  [ -f "$WORK/$name.log" ] && grep -v '^> \|^$' "$WORK/$name.log" | grep -E "$pattern" | tail -n 80
  echo '```'
}
{
  echo "# Device check: $(date -u '+%Y-%m-%d %H:%M UTC')$([ "$DRY" = 1 ] && echo ' (dry run on the software adapter)')"
  echo
  echo "Written by scripts/device-check.sh in $(($(date +%s) - STARTED)) s on $(uname -srm)."
  command -v nvidia-smi > /dev/null &&
    echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)"
  section adapter 'Adapter (node bin/sparsegpt.mjs gpu-info)'
  section bench "Solver benchmark (npm run bench -- --sizes $BENCH_SIZES)"
  section bench-e2e "Whole runs (npm run bench:e2e -- ${E2E_ARGS[*]})"
  section demo 'The demo in headless Chromium'
} > "$RESULTS"
echo "results: $RESULTS (each step's whole output: $WORK)"
if [ $FAILED = 0 ]; then echo "ok: device check done in $(($(date +%s) - STARTED)) s"; else echo "FAILED: see the lines above"; fi
exit $FAILED
