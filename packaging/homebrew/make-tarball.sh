#!/usr/bin/env bash
# Makes the source tarball the Homebrew formula builds from, and a copy of the formula that
# points at it:
#
#   packaging/homebrew/make-tarball.sh [--out DIR]
#
#   DIR/rlua-net-VERSION.tar.gz   the committed tree (git archive of HEAD; from a tree
#                                 without git, the files as they are, less target/)
#   DIR/rlua-net.rb               packaging/homebrew/rlua-net.rb with url and sha256 of it
#
# DIR defaults to target/homebrew. The last line printed is the tarball's path.

set -euo pipefail
umask 022

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/homebrew"

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "make-tarball: --out needs a directory" >&2; exit 1; }; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "make-tarball: unknown argument '$1'" >&2; exit 1 ;;
  esac
done

version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "make-tarball: cannot read the version from Cargo.toml" >&2; exit 1; }
name="rlua-net-$version"
mkdir -p "$out"
out=$(cd "$out" && pwd)
tarball="$out/$name.tar.gz"

if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
    echo "make-tarball: note: uncommitted changes are not in the tarball (it is HEAD)" >&2
  fi
  git -C "$root" archive --format=tar --prefix="$name/" HEAD | gzip -9n >"$tarball"
else
  tar -C "$(dirname "$root")" --exclude="$(basename "$root")/target" \
    --transform="s|^$(basename "$root")|$name|" -cf - "$(basename "$root")" | gzip -9n >"$tarball"
fi

sha=$(sha256sum "$tarball" | cut -d' ' -f1)
sed -e "s|^  url \".*\"|  url \"file://$tarball\"|" \
  -e "s|^  sha256 \".*\"|  sha256 \"$sha\"|" \
  "$root/packaging/homebrew/rlua-net.rb" >"$out/rlua-net.rb"
grep -q "file://$tarball" "$out/rlua-net.rb" || { echo "make-tarball: could not set url" >&2; exit 1; }
grep -q "$sha" "$out/rlua-net.rb" || { echo "make-tarball: could not set sha256" >&2; exit 1; }

echo "make-tarball: formula for it: $out/rlua-net.rb (sha256 $sha)" >&2
echo "$tarball"
