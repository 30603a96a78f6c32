# Shared by the bench scripts (sourced, not run): installing the anchors and
# finding the release binaries cargo builds (the target triple is part of
# their path, see .cargo/config.toml).

# need COMMAND PACKAGE...: apt-installs the packages if COMMAND is missing.
need() {
  local command=$1; shift
  if ! command -v "$command" >/dev/null; then
    echo "installing $* (apt)..." >&2
    (apt-get update -qq && apt-get install -y -qq "$@") >/dev/null
  fi
}

# release_bins NAME...: builds the binaries in release mode and prints
# NAME=PATH lines.
release_bins() {
  local args=() built name
  for name in "$@"; do args+=(--bin "$name"); done
  built=$(cargo build --release "${args[@]}" --message-format=json-render-diagnostics 2>/dev/null)
  for name in "$@"; do
    printf '%s=%s\n' "$name" "$(grep -o "\"executable\":\"[^\"]*/$name\"" <<<"$built" | cut -d'"' -f4)"
  done
}

# release_bin NAME: the path of one release binary, built if needed.
release_bin() {
  local path
  path=$(release_bins "$1" | cut -d= -f2-)
  [ -x "$path" ] || { echo "bench: building $1 failed" >&2; exit 1; }
  printf '%s\n' "$path"
}
