#!/usr/bin/env bash
# Builds the `emrex` container image without any container registry: the release binary built on
# this machine by cargo, on a minimal base assembled from Debian packages, committed by Debian's
# podman (docs/deploy.md, "The image"). The layout is the one `Containerfile` produces on a CI with
# registry access: /usr/local/bin/emrex, user 65532:65532, no shell, ENTRYPOINT the binary.
#
#   scripts/image.sh [--binary PATH] [--tag NAME:TAG] [--save FILE]
#
#   --binary PATH   use this (unstripped or stripped) emrex binary instead of building one
#   --tag NAME:TAG  image name (default localhost/emrex:<workspace version>)
#   --save FILE     also write the image as a docker-archive tarball (what `ctr images import`
#                   and `podman load` read)
#
#   EMREX_CACHE_DIR       cache root (default ~/.cache/emrex-rs): the Debian packages of the base
#                         in image/debs (never required to exist)
#   EMREX_IMAGE_PROFILE   cargo profile of the binary (default `image`: release, debug info
#                         only as line tables, which are split off)
#   EMREX_SKIP_INSTALL=1  never install anything (fail instead)
#   CARGO_TARGET_DIR      as for cargo (default ./target)
#
# What it does, each step idempotent:
#   1. podman set-up for this kind of machine (cgroup v1 hybrid, no systemd): runc, the cgroupfs
#      cgroup manager, no default ulimits (the default RLIMIT_NPROC cannot be set here), file
#      events — written to /etc/containers/containers.conf.d/50-emrex.conf;
#   2. `cargo build --profile image --locked -p emrex`;
#   3. splits the debug info off as Debian's dh_strip does: the image's `emrex` has neither line
#      tables nor symbol table (10 MB of the 52 MB); both go to `emrex.debug` next to the built
#      binary, which gdb and addr2line find through .gnu_debuglink;
#   4. the base: for every shared library the binary loads (ldd), the Debian package that owns it
#      is downloaded (`apt-get download`, the installed version) and only that file is taken,
#      plus the dynamic loader, the Mozilla CA bundle from Debian's `ca-certificates` (what
#      update-ca-certificates would write, without any locally added CA), each package's
#      copyright file, /etc/passwd and /etc/group (root, nonroot 65532, nobody), /tmp;
#   5. `podman build` FROM scratch: one layer for the base, one for the binary.
# The last line on standard output is the image name; the rest goes to standard error.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

sudo_cmd() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then
    die "missing Debian packages: $* (EMREX_SKIP_INSTALL=1, not installing)"
  fi
  say "installing Debian packages: $*"
  sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  DEBIAN_FRONTEND=noninteractive sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

binary=""
built=""
tag=""
save=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --tag) tag="${2:?--tag needs NAME:TAG}"; shift 2 ;;
    --save) save="${2:?--save needs a file}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

version="$(awk '/^\[workspace\.package\]/ { f = 1; next } /^\[/ { f = 0 } f && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)"
[ -n "$version" ] || die "no version in Cargo.toml [workspace.package]"
tag="${tag:-localhost/emrex:$version}"
cache="${EMREX_CACHE_DIR:-$HOME/.cache/emrex-rs}/image"

# ---- 1. podman ------------------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v objcopy >/dev/null || need+=(binutils)
command -v apt-get >/dev/null || die "apt-get is needed to fetch the base's Debian packages"
[ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"

conf=/etc/containers/containers.conf.d/50-emrex.conf
want_conf='# Written by emrex-rs scripts/image.sh: podman on cgroup v1 without systemd.
# crun refuses this cgroup layout (hybrid), and the default RLIMIT_NPROC cannot be set here.
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want_conf" ]; then
  if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then
    die "$conf is missing or differs (EMREX_SKIP_INSTALL=1, not writing it)"
  fi
  say "writing $conf"
  sudo_cmd mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want_conf" | sudo_cmd tee "$conf" >/dev/null
fi

# ---- 2. the binary --------------------------------------------------------------------------
target="${CARGO_TARGET_DIR:-target}"
profile="${EMREX_IMAGE_PROFILE:-image}"
# Recorded in the image (label eu.emrex.build.profile): the size goal holds for the `image`
# profile; the test command builds from the `dev` binary it compiles anyway (docs/testing.md).
label_profile="$profile"
[ -z "$binary" ] || label_profile="given"
if [ -z "$binary" ]; then
  say "cargo build --profile $profile --locked -p emrex"
  start=$SECONDS
  cargo build --profile "$profile" --locked -p emrex >&2
  say "cargo took $((SECONDS - start)) s"
  # cargo's folder for the dev profile is `debug`, for the others the profile's name.
  case "$profile" in dev|test) dir=debug ;; bench) dir=release ;; *) dir="$profile" ;; esac
  binary="$target/$dir/emrex"
  built=1
fi
[ -x "$binary" ] || die "$binary is not an executable"

work="$(mktemp -d "${TMPDIR:-/tmp}/emrex-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
ctx="$work/context"
mkdir -p "$ctx/base" "$ctx/bin"

# ---- 3. strip, keeping the debug info next to the binary -------------------------------------
# Kept next to a binary we built; with --binary, nothing is written outside the work folder.
if [ -n "$built" ]; then debug_file="$(dirname "$binary")/emrex.debug"; else debug_file="$work/kept.debug"; fi
if objcopy --only-keep-debug "$binary" "$work/emrex.debug" 2>/dev/null \
   && [ -n "$(objdump -h "$work/emrex.debug" 2>/dev/null | awk '$2 ~ /^\.debug_/')" ]; then
  cp "$work/emrex.debug" "$debug_file.tmp" && mv -f "$debug_file.tmp" "$debug_file"
  objcopy --strip-all --add-gnu-debuglink="$debug_file" "$binary" "$ctx/bin/emrex"
  [ -n "$built" ] && say "debug info split off into $debug_file ($(du -h "$debug_file" | cut -f1))"
else
  objcopy --strip-all "$binary" "$ctx/bin/emrex"
fi
chmod 0755 "$ctx/bin/emrex"
bin_size=$(stat -c %s "$ctx/bin/emrex")
say "binary $binary: $(stat -c %s "$binary") bytes, stripped $bin_size bytes"

# ---- 4. the base from Debian packages --------------------------------------------------------
base="$ctx/base"
debs="$cache/debs"
mkdir -p "$debs" 2>/dev/null || { debs="$work/debs"; mkdir -p "$debs"; }
arch="$(dpkg --print-architecture)"

# The package (and installed version) that owns a file; dpkg knows the /lib path of a
# usr-merged system, so try the path as given and the resolved one.
owner_of() {
  local f="$1" pkg
  pkg="$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1)" \
    || pkg="$(dpkg -S "$(readlink -f "$f")" 2>/dev/null | head -1 | cut -d: -f1)" || true
  [ -n "$pkg" ] || die "no Debian package owns $f (the binary must only load Debian's libraries)"
  echo "$pkg"
}

deb_of() { # $1 = package; prints the path of its .deb in $debs (downloaded when missing)
  local pkg="$1" ver file
  ver="$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)" || die "$pkg is not installed"
  file="$debs/${pkg}_${ver//:/%3a}_${arch}.deb"
  [ -f "$file" ] || file="$debs/${pkg}_${ver//:/%3a}_all.deb"
  if [ ! -f "$file" ]; then
    say "apt-get download $pkg=$ver"
    # As root apt would drop to its sandbox user, which cannot write to the cache.
    (cd "$debs" && apt-get -o APT::Sandbox::User="$(id -un)" download -qq "$pkg=$ver" >&2) \
      || die "cannot download $pkg=$ver"
    file="$(ls "$debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -1)"
  fi
  [ -f "$file" ] || die "no .deb for $pkg=$ver in $debs"
  echo "$file"
}

declare -A extracted=()
unpack() { # $1 = package -> $work/pkg/<package>
  [ -n "${extracted[$1]:-}" ] && return 0
  mkdir -p "$work/pkg/$1"
  dpkg-deb -x "$(deb_of "$1")" "$work/pkg/$1"
  extracted[$1]=1
}
extract() { # $1 = package: unpacked, and its copyright file in the base
  local pkg="$1" doc
  unpack "$pkg"
  # Licences travel with the files: Debian's copyright file of every package we take from (some
  # packages' doc folder is a link to their source's base package, e.g. libgcc-s1 -> gcc-12-base).
  doc="$work/pkg/$pkg/usr/share/doc/$pkg"
  if [ -L "$doc" ]; then
    local basepkg
    basepkg="$(basename "$(readlink "$doc")")"
    unpack "$basepkg"
    doc="$work/pkg/$basepkg/usr/share/doc/$basepkg"
  fi
  [ -f "$doc/copyright" ] || die "$pkg: no copyright file"
  install -D -m 0644 "$doc/copyright" "$base/usr/share/doc/$pkg/copyright"
}

# Copies `path` (as the package ships it, following symbolic links inside the package) to the base.
take() { # $1 = package, $2 = absolute path in the package
  local pkg="$1" path="$2" src
  src="$work/pkg/$pkg$path"
  [ -e "$src" ] || die "$pkg does not ship $path"
  mkdir -p "$base$(dirname "$path")"
  cp -L "$src" "$base$path"
}

# Every library the dynamic loader resolves for the binary, and the loader itself.
mapfile -t libs < <(ldd "$ctx/bin/emrex" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ "${#libs[@]}" -gt 0 ] || die "ldd found no libraries for the binary (is it dynamically linked?)"
for lib in "${libs[@]}"; do
  pkg="$(owner_of "$lib")"
  extract "$pkg"
  # The path inside the package: Debian 12 ships libraries under /lib (usr-merge happens at
  # install time), so look for the file name there.
  inpkg="$(cd "$work/pkg/$pkg" && find . -name "$(basename "$lib")" \( -type f -o -type l \) | head -1)"
  [ -n "$inpkg" ] || die "$pkg has no $(basename "$lib")"
  take "$pkg" "${inpkg#.}"
  say "  $(basename "$lib") from $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
done
# The loader is found through the interpreter path written into the binary (/lib64/...).
interp="$(readelf -l "$ctx/bin/emrex" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
if [ -n "$interp" ] && [ ! -e "$base$interp" ]; then
  loader="$(find "$base" -name "$(basename "$interp")" -type f | head -1)"
  [ -n "$loader" ] || die "the loader $interp is not in the base"
  mkdir -p "$base$(dirname "$interp")"
  ln -s "${loader#"$base"}" "$base$interp"
fi

# CA certificates: the Mozilla set Debian ships, concatenated as update-ca-certificates does.
extract ca-certificates
mkdir -p "$base/etc/ssl/certs"
find "$work/pkg/ca-certificates/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort \
  | while read -r crt; do cat "$crt"; echo; done | sed '/^$/d' >"$base/etc/ssl/certs/ca-certificates.crt"
ncert=$(grep -c 'BEGIN CERTIFICATE' "$base/etc/ssl/certs/ca-certificates.crt")
[ "$ncert" -gt 100 ] || die "only $ncert CA certificates in the bundle"

# Users (distroless' names and ids), name service and scratch space.
mkdir -p "$base/etc" "$base/tmp" "$base/home" "$ctx/home"
cat >"$base/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$base/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
printf 'hosts: files dns\n' >"$base/etc/nsswitch.conf"
chmod 1777 "$base/tmp"

# ---- 5. the image ---------------------------------------------------------------------------
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
cat >"$ctx/Containerfile" <<EOF
FROM scratch
COPY base/ /
COPY --chown=65532:65532 home/ /home/nonroot/
COPY bin/emrex /usr/local/bin/emrex
USER 65532:65532
EXPOSE 8080 50051 9090
ENTRYPOINT ["/usr/local/bin/emrex"]
CMD ["--help"]
LABEL org.opencontainers.image.title="emrex" \\
      org.opencontainers.image.version="$version" \\
      org.opencontainers.image.revision="$revision" \\
      org.opencontainers.image.licenses="Apache-2.0" \\
      org.opencontainers.image.description="EMREX operator, EMREG, NCP, Signer, SMP and ELMO tools" \\
      eu.emrex.build.profile="$label_profile"
EOF
say "podman build -t $tag"
podman build --quiet --network none --pull=never -t "$tag" -f "$ctx/Containerfile" "$ctx" >&2
size="$(podman image inspect --format '{{.Size}}' "$tag")"
say "$tag: $((size / 1000000)) MB ($size bytes; binary $bin_size bytes, base $(du -sb "$base" | cut -f1) bytes)"
if [ -n "$save" ]; then
  rm -f "$save"
  podman save --quiet --format docker-archive -o "$save" "$tag"
  say "saved to $save ($(du -h "$save" | cut -f1))"
fi
echo "$tag"
