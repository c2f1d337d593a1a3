#!/usr/bin/env bash
# Times tcpsim on the scale scenarios in sims/bench/ and, when ns-3 is installed, the ns-3
# peer benchmarks doing the same work (shared/peers/ns3/, next to this repository), and
# prints one table: wall time and max RSS from /usr/bin/time, events/s and segments/s from
# tcpsim's --stats line, and ns-3's wall time over tcpsim's.
#
# Usage: scripts/bench.sh
#   RUNS=N      tcpsim runs per scenario, best wall time kept (default 3)
#   NS3_RUNS=N  the same for ns-3 (default 1: many 10000 takes tens of seconds)
# Needs: cargo, /usr/bin/time (Debian package "time"); for the ns-3 columns
#   apt-get install -y libns3-dev libgsl-dev g++ pkg-config
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peers="$repo/../shared/peers/ns3"
runs=${RUNS:-3}
ns3_runs=${NS3_RUNS:-1}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x /usr/bin/time ]; then
  echo "bench.sh: /usr/bin/time is missing (apt-get install -y time)" >&2
  exit 2
fi

echo "building tcpsim (release)..." >&2
(cd "$repo" && cargo build --release --quiet)
tcpsim="${CARGO_TARGET_DIR:-$repo/target}/release/tcpsim"

# The ns-3 peers: built once into the temp dir, or skipped with the reason.
ns3=""
if [ ! -d "$peers" ]; then
  echo "bench.sh: no ns-3 peers: $peers is missing (the shared folder sits next to the repository)" >&2
elif ! pkg-config --exists ns3-core 2>/dev/null; then
  echo "bench.sh: ns-3 not installed (pkg-config ns3-core); ns-3 columns left empty" >&2
  echo "  install: apt-get install -y libns3-dev libgsl-dev g++ pkg-config" >&2
else
  echo "building the ns-3 peers ($(pkg-config --modversion ns3-core))..." >&2
  bash "$peers/build.sh" "$tmp/ns3" >&2
  ns3="$tmp/ns3"
fi

# timed N CMD...: runs CMD N times and sets wall (s) and rss (MB) of the fastest run, and
# ok (no when any run failed); stdout is dropped, the fastest run's stderr is kept in
# $tmp/best_err. /usr/bin/time gives the max RSS; its wall time (%e) has 10 ms steps, too
# coarse for runs of a few tens of ms, so the wall time is taken around it with date +%N.
timed() {
  local n=$1 best="" best_rss="" w r t0 t1 i
  shift
  ok=yes
  for ((i = 0; i < n; i++)); do
    t0=$(date +%s%N)
    if ! /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"; then
      ok=no
    fi
    t1=$(date +%s%N)
    w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    # The last line: a failed command's report starts with "Command exited with ...".
    r=$(tail -n 1 "$tmp/time" | awk '{ print $2 }')
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$w
      best_rss=$r
      cp "$tmp/err" "$tmp/best_err"
    fi
  done
  wall=$best
  rss=$(awk -v k="$best_rss" 'BEGIN { printf "%.0f", k / 1024 }')
}

# The ns-3 run doing the same work as a tcpsim scenario, if there is one.
ns3_args() {
  case $1 in
    bulk_10mb) echo "bulk 10" ;;
    bulk_100mb) echo "bulk 100" ;;
    many_1k) echo "many 1000" ;;
    many_10k) echo "many 10000" ;;
    *) echo "" ;; # many_100k: too slow for ns-3
  esac
}

# scale_row NAME: one row of the hosts table from the fastest run's --stats lines: hosts,
# events, the run's own wall time and ns per event, the share loading took of the whole
# command, RSS per host. The 1k row is the base the ratios are taken against.
scale=$tmp/scale
: >"$scale"
scale_row() {
  awk -v name="$1" -v total="$wall" -v rss="$rss" '
    /^stats: estimated before the run:/ { hosts = $6 }
    /^stats: .*events\/s/ {
      gsub(/,/, "")
      ev = $2
      for (i = 3; i <= NF; i++) if ($i == "events/s") evps = $(i - 1)
    }
    END {
      # From events/s, which --stats computes from the unrounded wall time.
      run = ev / (evps > 0 ? evps : 1)
      ns = 1e9 / (evps > 0 ? evps : 1)
      printf "%s %d %d %.3f %.0f %.1f %.0f\n", name, hosts, ev, run, ns,
        100 * (total - run) / (total > 0 ? total : 1), rss * 1048576 / (hosts > 0 ? hosts : 1)
    }' "$tmp/best_err" >>"$scale"
}

workloads="bulk_10mb bulk_100mb many_1k many_10k many_100k many_1m"
for f in "$repo"/sims/bench/*.toml; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .toml)
  case " $workloads " in *" $name "*) ;; *) workloads="$workloads $name" ;; esac
done

rows="$tmp/rows"
: >"$rows"
for w in $workloads; do
  sc="$repo/sims/bench/$w.toml"
  t_wall="-" t_rss="-" evs="-" segs="-" n_wall="-" n_rss="-" speedup="-"
  if [ -f "$sc" ]; then
    echo "tcpsim $w..." >&2
    timed "$runs" "$tcpsim" "$sc" --quiet --stats
    t_wall="$wall s" t_rss="$rss MB"
    [ "$ok" = yes ] || t_wall="$t_wall (failed)"
    read -r evs segs < <(awk '/^stats: .*events\/s/ {
        gsub(/,/, "")
        for (i = 2; i <= NF; i++) {
          if ($i == "events/s") e = $(i - 1)
          if ($i == "segments/s") s = $(i - 1)
        }
      }
      END { printf "%.3g %.3g\n", e, s }' "$tmp/best_err")
    tcpsim_wall=$wall
    # Now, before an ns-3 run replaces best_err and the figures.
    case $w in many_*) scale_row "$w" ;; esac
  else
    t_wall="(no $w.toml)"
    tcpsim_wall=""
  fi
  args=$(ns3_args "$w")
  if [ -n "$ns3" ] && [ -n "$args" ]; then
    echo "ns-3 $args..." >&2
    # shellcheck disable=SC2086 # "bulk 10" is the program and its argument
    timed "$ns3_runs" "$ns3"/$args
    n_wall="$wall s" n_rss="$rss MB"
    [ "$ok" = yes ] || n_wall="$n_wall (failed)"
    if [ -n "$tcpsim_wall" ]; then
      speedup=$(awk -v n="$wall" -v t="$tcpsim_wall" 'BEGIN { printf "%.0f×", n / t }')
    fi
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$w" "$t_wall" "$t_rss" "$evs" "$segs" "$n_wall" "$n_rss" "$speedup" >>"$rows"
done

echo "| workload | tcpsim wall | tcpsim RSS | events/s | segments/s | ns-3 wall | ns-3 RSS | speedup |"
echo "|---|---|---|---|---|---|---|---|"
cat "$rows"
echo
echo "Machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
  "$(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)." \
  "tcpsim: best of $runs; ns-3: best of $ns3_runs."

echo
echo "Cost per event and per host as hosts grow (the run's own wall time from --stats; load: the"
echo "share of the whole command spent outside the run, mostly loading; ratio: ns/event over many_1k's):"
echo
echo "| workload | hosts | events | run wall | ns/event | ratio | load | RSS/host |"
echo "|---|---|---|---|---|---|---|---|"
awk '$1 == "many_1k" { base = $5 } { rows[NR] = $0 } END {
  for (i = 1; i <= NR; i++) {
    split(rows[i], f, " ")
    printf "| %s | %d | %d | %.3f s | %.0f | %.2f× | %.1f %% | %.0f B |\n", f[1], f[2], f[3], f[4], f[5],
      (base > 0 ? f[5] / base : 0), f[6], f[7]
  }
}' "$scale"

# Output overheads: each output against the quiet run of the same scenario, best of $runs.
echo
echo "Outputs against the quiet run (best of $runs; ladder and SVG draw the first connection):"
echo
echo "| workload | quiet | text | JSON | pcap | ladder | SVG |"
echo "|---|---|---|---|---|---|---|"
for w in bulk_100mb many_100k; do
  sc="$repo/sims/bench/$w.toml"
  [ -f "$sc" ] || continue
  echo "outputs $w..." >&2
  timed "$runs" "$tcpsim" "$sc" --quiet
  quiet=$wall
  cells=""
  for out in text json pcap ladder svg; do
    case $out in
      text) timed "$runs" "$tcpsim" "$sc" ;;
      json) timed "$runs" "$tcpsim" "$sc" --format json ;;
      pcap) timed "$runs" "$tcpsim" "$sc" --quiet --pcap "$tmp/out.pcapng" ;;
      ladder) timed "$runs" timeout 600 "$tcpsim" "$sc" --ladder ;;
      svg) timed "$runs" timeout 600 "$tcpsim" "$sc" --quiet --svg "$tmp/out.svg" ;;
    esac
    cell=$(awk -v a="$wall" -v q="$quiet" 'BEGIN { printf "%.2f s (%.1f×)", a, a / (q > 0 ? q : 1) }')
    [ "$ok" = yes ] || cell="$cell (failed)"
    cells="$cells | $cell"
  done
  echo "| $w | $quiet s$cells |"
done
