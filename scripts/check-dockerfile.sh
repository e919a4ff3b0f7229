#!/usr/bin/env bash
# Replays the Dockerfile's build stage without a Docker daemon and checks what it publishes.
#
# What it does, in order:
#   1. builds a copy of the build context: every file under the repository that .dockerignore
#      does not exclude (patterns with `*`, `?`, `**`, a trailing `/`, and `!` re-inclusion; the
#      last matching pattern wins, as in Docker);
#   2. replays the instructions of the stage `FROM … AS build` in a scratch root directory:
#      WORKDIR, ENV, COPY (from the context; not `--from`) and RUN (with bash; every word that
#      starts with `/` is taken to be a path inside the image and is rewritten under the scratch root);
#   3. checks the folder the final stage copies (`COPY --from=build <dir>`): it holds the
#      `tradestore` launcher and no ScottPlot or HdrHistogram assembly (those belong to the
#      separate tradestore-bench tool);
#   4. checks the image's command is the guard supervising serve: CMD ["guard", "--", "serve"];
#   5. with SOURCE_REVISION set (as `docker build --build-arg SOURCE_REVISION=…` sets it: an ARG takes
#      its value from this script's environment, else its default), checks that the published
#      `tradestore --version` names it (0.1.0+<revision>).
#
# It needs the .NET SDK pinned in global.json and access to the NuGet feed, like `docker build`.
# Ends with `check-dockerfile: ok` (exit 0) or `check-dockerfile: FAILED: <reason>` (exit 1).
#
# Usage: scripts/check-dockerfile.sh [--keep]     (--keep leaves the scratch directory for inspection)
set -uo pipefail
shopt -s extglob dotglob nullglob

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="$root/Dockerfile"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
work="$(mktemp -d /tmp/tradestore-dockerfile.XXXXXX)"
context="$work/context"
image="$work/image"

log() { printf '[check-dockerfile] %s\n' "$*" >&2; }
fail() { echo "check-dockerfile: FAILED: $*"; exit 1; }
cleanup() { if [ "$keep" -eq 1 ]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

[ -f "$dockerfile" ] || fail "no Dockerfile at $dockerfile"

# ---- 1. the build context, filtered by .dockerignore ------------------------------------------
# One bash pattern per .dockerignore line: `**/` becomes "any leading directories (or none)",
# a trailing `/` is dropped (a pattern names the path itself; its contents follow it).
ignore_patterns=()
ignore_negated=()
if [ -f "$root/.dockerignore" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%$'\r'}"
    line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
    [ -z "$line" ] && continue
    [[ "$line" == \#* ]] && continue
    negated=0
    if [[ "$line" == !* ]]; then negated=1; line="${line#!}"; fi
    line="${line#/}"; line="${line#./}"; line="${line%/}"
    line="${line//\*\*\//@(*/|)}"
    ignore_patterns+=("$line")
    ignore_negated+=("$negated")
  done <"$root/.dockerignore"
fi

# 0 when the path (relative, no leading ./) or one of its parent directories is excluded.
ignored() {
  local path="$1" prefix verdict=1 i
  for i in "${!ignore_patterns[@]}"; do
    prefix="$path"
    while :; do
      # shellcheck disable=SC2053 # the right side is a pattern on purpose
      if [[ "$prefix" == ${ignore_patterns[$i]} ]]; then
        if [ "${ignore_negated[$i]}" -eq 1 ]; then verdict=1; else verdict=0; fi
        break
      fi
      [[ "$prefix" == */* ]] || break
      prefix="${prefix%/*}"
    done
  done
  return "$verdict"
}

log "building the context from $root (honouring .dockerignore)"
mkdir -p "$context"
copied=0
# Walks the tree, skipping an excluded directory whole (unless a `!` pattern could re-include
# something below it, in which case it is walked and each file decided on its own).
walk() { # relative directory ('' for the root)
  local dir="$1" entry relative
  for entry in "$root/${dir:+$dir/}"*; do
    relative="${entry#"$root/"}"
    [ "$relative" = ".git" ] && continue
    if [ -d "$entry" ] && [ ! -L "$entry" ]; then
      if ignored "$relative" && [ "$has_negation" -eq 0 ]; then continue; fi
      walk "$relative"
    else
      ignored "$relative" && continue
      mkdir -p "$context/$(dirname "$relative")"
      cp -p "$entry" "$context/$relative"
      copied=$((copied + 1))
    fi
  done
}
has_negation=0
for n in "${ignore_negated[@]}"; do [ "$n" -eq 1 ] && has_negation=1; done
walk ""
log "context: $copied files"

# ---- 2. the build stage ----------------------------------------------------------------------
# Joins continuation lines, then keeps the instructions between `FROM … AS build` and the next FROM.
instructions="$(sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$dockerfile" | grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$')"
stage="$(awk 'BEGIN{IGNORECASE=1} /^FROM /{ if (inside) exit; if (tolower($0) ~ / as build[[:space:]]*$/) { inside=1; next } } inside' <<<"$instructions")"
[ -n "$stage" ] || fail "no stage 'FROM … AS build' in the Dockerfile"

workdir="/"
mkdir -p "$image"
in_image() { # an absolute image path -> the scratch path
  local p="$1"
  [[ "$p" == /* ]] || p="${workdir%/}/$p"
  printf '%s%s' "$image" "$p"
}

while IFS= read -r instruction; do
  keyword="${instruction%%[[:space:]]*}"
  rest="${instruction#"$keyword"}"; rest="${rest#"${rest%%[![:space:]]*}"}"
  case "${keyword^^}" in
    WORKDIR)
      if [[ "$rest" == /* ]]; then workdir="$rest"; else workdir="${workdir%/}/$rest"; fi
      mkdir -p "$(in_image "$workdir")"
      ;;
    ENV)
      # `ENV KEY=value …` or `ENV KEY value`
      if [[ "$rest" == *=* ]]; then
        for pair in $rest; do export "${pair?}"; done
      else
        export "${rest%% *}=${rest#* }"
      fi
      ;;
    COPY)
      [[ "$rest" == --from* ]] && fail "COPY --from in the build stage is not replayed: $instruction"
      read -r -a words <<<"$rest"
      [ "${#words[@]}" -ge 2 ] || fail "COPY needs a source and a destination: $instruction"
      destination="${words[-1]}"
      unset 'words[-1]'
      target="$(in_image "$destination")"
      if [[ "$destination" == */ ]] || [ "${#words[@]}" -gt 1 ]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; fi
      for source in "${words[@]}"; do
        source="${source#./}"; source="${source%/}"
        matches=("$context"/$source)
        [ "${#matches[@]}" -gt 0 ] || fail "COPY source '$source' is not in the build context (excluded by .dockerignore or missing): $instruction"
        for match in "${matches[@]}"; do
          if [ -d "$match" ]; then
            mkdir -p "$target"
            cp -a "$match/." "$target/"
          elif [ -d "$target" ]; then
            cp -p "$match" "$target/"
          else
            cp -p "$match" "$target"
          fi
        done
      done
      ;;
    RUN)
      command=""
      for word in $rest; do
        if [[ "$word" == /* ]]; then word="$image$word"; fi
        command+="$word "
      done
      log "RUN $rest"
      (cd "$(in_image "$workdir")" && bash -c "$command") >&2 || fail "RUN exited non-zero: $rest"
      ;;
    ARG)
      name="${rest%%=*}"
      if [ -z "${!name+set}" ]; then
        if [[ "$rest" == *=* ]]; then export "$name=${rest#*=}"; fi
      else
        export "$name"
      fi
      log "ARG $name=${!name-}"
      ;;
    LABEL|SHELL|USER|EXPOSE|VOLUME|STOPSIGNAL|ENTRYPOINT|CMD|HEALTHCHECK|ONBUILD)
      log "skipping $keyword (no effect on what the stage builds)"
      ;;
    *)
      fail "instruction '$keyword' is not understood by this replay: $instruction"
      ;;
  esac
done <<<"$stage"

# ---- 3. what the final stage takes from the build stage -----------------------------------------
published_path="$(grep -Eio '^COPY[[:space:]]+--from=build[[:space:]]+[^[:space:]]+' <<<"$instructions" | awk '{print $3}' | head -1)"
[ -n "$published_path" ] || fail "the final stage does not COPY --from=build"
published="$(in_image "$published_path")"
[ -d "$published" ] || fail "the build stage did not produce $published_path"
[ -x "$published/tradestore" ] || fail "$published_path has no tradestore launcher"
[ -f "$published/tradestore.dll" ] || fail "$published_path has no tradestore.dll"
bench_files=("$published"/ScottPlot* "$published"/HdrHistogram* "$published"/tradestore-bench*)
if [ "${#bench_files[@]}" -gt 0 ]; then
  fail "$published_path ships bench code or its packages: ${bench_files[*]##*/}"
fi
log "published $published_path: $(find "$published" -type f | wc -l) files, no ScottPlot, HdrHistogram or tradestore-bench"

# ---- 4. the image's command -----------------------------------------------------------------------
command_line="$(grep -E '^CMD[[:space:]]' <<<"$instructions" | tail -1)"
if ! grep -Eq '^CMD[[:space:]]+\[[[:space:]]*"guard"[[:space:]]*,[[:space:]]*"--"[[:space:]]*,[[:space:]]*"serve"' <<<"$command_line"; then
  fail "the image must run the guard supervising serve (CMD [\"guard\", \"--\", \"serve\"]); found: ${command_line:-no CMD}"
fi

# ---- 5. the version names the commit given ---------------------------------------------------------
if [ -n "${SOURCE_REVISION:-}" ]; then
  version="$(dotnet "$published/tradestore.dll" --version 2>&1)" || fail "tradestore --version failed: $version"
  [[ "$version" == *"+$SOURCE_REVISION" ]] || fail "tradestore --version says '$version', not ending in +$SOURCE_REVISION"
  log "tradestore --version: $version"
fi

echo "check-dockerfile: ok"
