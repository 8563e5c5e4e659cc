#!/usr/bin/env bash
# build-cmocka.sh — build cmocka for an ABI Debian ships no libcmocka-dev for
# (-m32, ...) and install it as a static library into a prefix.
#
#   scripts/build-cmocka.sh PREFIX [CFLAGS...]
#   e.g. scripts/build-cmocka.sh build/cmocka-m32 -m32
#
# The source is Debian's own `cmocka` source package, fetched with
# `apt-get source` from the Debian archive this machine already uses: the
# script reads the configured apt sources (/etc/apt/sources.list,
# /etc/apt/sources.list.d/*.list and *.sources), turns the entries of this
# release (suite = VERSION_CODENAME or CODENAME-updates/-security) into
# deb-src entries in a private apt directory under PREFIX/.work, and runs
# `apt-get update` / `apt-get source --download-only` against that directory
# only. The system's apt configuration, lists and caches are not touched, and
# root is not needed. The source is unpacked with dpkg-source (dpkg-dev) and
# built with CMake using the given CFLAGS; the result is
#   PREFIX/include/cmocka.h  PREFIX/lib/libcmocka.a
# Everything downloaded stays under PREFIX (keep it inside the git-ignored
# build directory); nothing of cmocka is ever part of the heapcaps sources.
#
# Idempotent: when PREFIX already holds the library the script does nothing
# (it checks that the CFLAGS recorded in PREFIX/.cflags match).
#
# Environment:
#   CMOCKA_SOURCE_DIR=DIR  use an already unpacked cmocka source tree instead
#                          of downloading one (offline machines).
#   CMOCKA_TOOLCHAIN_FILE=FILE
#                          cross-compile with this CMake toolchain file (a
#                          bare-metal C library: only the static library is
#                          built, and the POSIX features cmocka would detect
#                          without linking — sigsetjmp, clock_gettime, thread
#                          locals, strsignal — are turned off).
#   CMAKE_GENERATOR        honoured as usual by cmake.
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me="build-cmocka"
say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"
}

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    usage
    [[ $# -ge 1 ]] && exit 0
    exit 2
fi

prefix_arg=$1
shift
cflags="$*"

mkdir -p -- "$prefix_arg" || die "cannot create the prefix '$prefix_arg'"
prefix=$(cd -- "$prefix_arg" && pwd -P)
stamp=$prefix/.cflags
toolchain=${CMOCKA_TOOLCHAIN_FILE:-}
if [[ -n $toolchain ]]; then
    [[ -f $toolchain ]] || die "CMOCKA_TOOLCHAIN_FILE '$toolchain' does not exist"
    toolchain=$(cd -- "$(dirname -- "$toolchain")" && pwd -P)/$(basename -- "$toolchain")
fi
# What the stamp records: the flags, and the toolchain of a cross build.
recorded=$cflags${toolchain:+ (toolchain $(basename -- "$toolchain"))}

# ---------------------------------------------------------------- done already?
if [[ -f $prefix/lib/libcmocka.a && -f $prefix/include/cmocka.h ]]; then
    if [[ -f $stamp ]] && [[ "$(cat -- "$stamp")" != "$recorded" ]]; then
        die "$prefix holds a cmocka built with CFLAGS '$(cat -- "$stamp")', not '$recorded'; remove $prefix or choose another prefix"
    fi
    say "cmocka already built in $prefix (CFLAGS: ${recorded:-none}); nothing to do"
    exit 0
fi

# ---------------------------------------------------------------- tools
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install the Debian package '$2' (apt-get install $2)"
}
need cmake cmake
need "${CC:-cc}" gcc
if [[ -z ${CMOCKA_SOURCE_DIR:-} ]]; then
    need apt-get apt
    need dpkg-source dpkg-dev
fi

work=$prefix/.work
log=$work/log
mkdir -p -- "$work"
: >"$log"

# run DESCRIPTION COMMAND...: run with output to the log; on failure show the
# log's end and stop.
run() {
    local what=$1
    shift
    say "$what"
    printf '\n$ %s\n' "$*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        printf '%s: error: %s failed; last lines of %s:\n' "$me" "$what" "$log" >&2
        tail -n 30 -- "$log" | sed 's/^/    /' >&2
        exit 1
    fi
}

in_dir() { # in_dir DIR COMMAND...: run COMMAND in DIR
    (cd -- "$1" && shift && "$@")
}

# ---------------------------------------------------------------- apt sources
# Write the deb-src equivalents of this release's configured Debian sources
# into $1 (a one-line sources.list) and $2 (a directory of deb822 .sources).
make_deb_src_config() {
    local list=$1 parts=$2 codename=""
    if [[ -r /etc/os-release ]]; then
        # shellcheck disable=SC1091 # a system file
        codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    fi
    [[ -n $codename ]] || die "cannot tell this machine's Debian release: /etc/os-release has no VERSION_CODENAME"
    : >"$list"
    mkdir -p -- "$parts"
    rm -f -- "$parts"/*.sources

    local f
    # One-line format: deb [options] URI SUITE COMPONENT...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        awk -v codename="$codename" '
            { sub(/#.*/, "") }
            $1 != "deb" { next }
            {
                i = 2; opts = ""
                if ($2 ~ /^\[/) {
                    while (i <= NF) { opts = opts (opts == "" ? "" : " ") $i; if ($i ~ /\]$/) { i++; break } ; i++ }
                }
                uri = $i; suite = $(i + 1)
                if (suite != codename && (index(suite, codename "-") != 1 || suite ~ /-backports$/)) next
                line = "deb-src " (opts == "" ? "" : opts " ") uri " " suite
                for (j = i + 2; j <= NF; j++) line = line " " $j
                print line
            }' "$f" >>"$list"
    done
    # deb822 format: stanzas of "Field: value" lines, continuation lines
    # starting with a blank, stanzas separated by empty lines.
    local n=0
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        n=$((n + 1))
        awk -v codename="$codename" '
            function flush(   i, s, k, keep, out, types, isdeb) {
                if (nfields == 0) return
                isdeb = 0
                k = split(val["types"], types, /[ \t]+/)
                for (i = 1; i <= k; i++) if (types[i] == "deb") isdeb = 1
                if (isdeb && tolower(val["enabled"]) != "no") {
                    keep = ""
                    k = split(val["suites"], s, /[ \t]+/)
                    for (i = 1; i <= k; i++) {
                        if (s[i] == "") continue
                        if (s[i] == codename || (index(s[i], codename "-") == 1 && s[i] !~ /-backports$/))
                            keep = keep (keep == "" ? "" : " ") s[i]
                    }
                    if (keep != "") {
                        out = "Types: deb-src\nSuites: " keep "\n"
                        for (i = 1; i <= nfields; i++) {
                            if (name[i] == "types" || name[i] == "suites" || name[i] == "enabled") continue
                            out = out raw[i] "\n"
                        }
                        printf "%s\n", out
                    }
                }
                nfields = 0; delete val; delete name; delete raw
            }
            /^#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (nfields > 0) { raw[nfields] = raw[nfields] "\n" $0; val[name[nfields]] = val[name[nfields]] " " $0 } ; next }
            {
                p = index($0, ":"); if (p == 0) next
                nfields++
                name[nfields] = tolower(substr($0, 1, p - 1))
                v = substr($0, p + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
                val[name[nfields]] = v
                raw[nfields] = $0
            }
            END { flush() }' "$f" >"$parts/src$n.sources"
        [[ -s $parts/src$n.sources ]] || rm -f -- "$parts/src$n.sources"
    done

    if [[ ! -s $list ]] && ! compgen -G "$parts/*.sources" >/dev/null; then
        die "found no Debian '$codename' entry in /etc/apt/sources.list or /etc/apt/sources.list.d/ to derive a deb-src entry from"
    fi
}

fetch_source() { # fetch_source DESTDIR: unpack Debian's cmocka source into DESTDIR
    local dest=$1 apt=$work/apt
    rm -rf -- "$apt" "$work/download"
    mkdir -p -- "$apt/lists/partial" "$apt/cache/archives/partial" "$work/download"
    make_deb_src_config "$apt/sources.list" "$apt/sources.list.d"
    {
        echo "# deb-src entries derived from the system's apt sources:"
        cat -- "$apt/sources.list"
        cat -- "$apt"/sources.list.d/*.sources 2>/dev/null || true
    } >>"$log"
    local -a aptopts=(
        -o "Dir::Etc::SourceList=$apt/sources.list"
        -o "Dir::Etc::SourceParts=$apt/sources.list.d"
        -o "Dir::State::Lists=$apt/lists"
        -o "Dir::Cache=$apt/cache"
        -o "Dir::Cache::pkgcache="
        -o "Dir::Cache::srcpkgcache="
        -o "APT::Get::List-Cleanup=false"
    )
    # As root apt downloads as the unprivileged _apt user: let it write the
    # private directories.
    if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
        chown -R _apt "$apt/lists" "$apt/cache" "$work/download" 2>/dev/null || true
    fi
    run "apt-get update (private deb-src lists in $apt)" apt-get -q "${aptopts[@]}" update
    if grep -qE '^(W|E): ' "$log"; then
        grep -E '^(W|E): ' "$log" | sed "s/^/$me: apt: /" >&2
    fi
    run "apt-get source --download-only cmocka" \
        in_dir "$work/download" apt-get -q "${aptopts[@]}" source --download-only cmocka
    local dsc
    dsc=$(find "$work/download" -maxdepth 1 -name 'cmocka_*.dsc' | head -n 1)
    [[ -n $dsc ]] || die "apt-get source left no cmocka_*.dsc in $work/download (see $log)"
    say "source package: $(basename -- "$dsc")"
    rm -rf -- "$dest"
    run "dpkg-source -x $(basename -- "$dsc")" dpkg-source --no-check -x "$dsc" "$dest"
}

# ---------------------------------------------------------------- source
if [[ -n ${CMOCKA_SOURCE_DIR:-} ]]; then
    [[ -f $CMOCKA_SOURCE_DIR/CMakeLists.txt && -f $CMOCKA_SOURCE_DIR/include/cmocka.h ]] ||
        die "CMOCKA_SOURCE_DIR=$CMOCKA_SOURCE_DIR is not a cmocka source tree"
    src=$(cd -- "$CMOCKA_SOURCE_DIR" && pwd -P)
    say "using the cmocka source in $src"
else
    src=$work/cmocka
    fetch_source "$src"
fi

# ---------------------------------------------------------------- build
build=$work/build
rm -rf -- "$build"
cross_args=()
build_target=()
# An empty CMAKE_C_FLAGS would replace a toolchain file's CMAKE_C_FLAGS_INIT.
[[ -z $cflags ]] || cross_args+=("-DCMAKE_C_FLAGS=$cflags")
if [[ -n $toolchain ]]; then
    cross_args+=("-DCMAKE_TOOLCHAIN_FILE=$toolchain" -DHAVE_SIGLONGJMP= -DHAVE_CLOCK_GETTIME=
        -DHAVE_CLOCK_REALTIME= -DHAVE_GCC_THREAD_LOCAL_STORAGE= -DHAVE_STRSIGNAL=)
    build_target=(--target cmocka-static)
fi
run "configure cmocka (CFLAGS: ${cflags:-none})" \
    cmake -S "$src" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_INSTALL_PREFIX=$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_INSTALL_INCLUDEDIR=include \
    -DBUILD_SHARED_LIBS=OFF \
    -DWITH_STATIC_LIB=ON \
    -DWITH_EXAMPLES=OFF \
    -DUNIT_TESTING=OFF \
    -DPICKY_DEVELOPER=OFF \
    "${cross_args[@]}"
run "build cmocka" cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" "${build_target[@]}"
if [[ -n $toolchain ]]; then
    # Only the static library was built: install it by hand.
    mkdir -p -- "$prefix/lib" "$prefix/include"
    cp -f -- "$build/src/libcmocka-static.a" "$prefix/lib/libcmocka.a"
    cp -f -- "$src/include/cmocka.h" "$prefix/include/cmocka.h"
else
    run "install cmocka into $prefix" cmake --install "$build"
fi

# cmocka 1.1.x names its static library libcmocka-static.a and always builds
# the shared one too: keep only a static libcmocka.a, so that -lcmocka and
# find_library(cmocka) take it. cmocka's installed CMake package file names
# the shared library, so it goes as well (heapcaps finds cmocka by path).
if [[ -f $prefix/lib/libcmocka-static.a ]]; then
    mv -f -- "$prefix/lib/libcmocka-static.a" "$prefix/lib/libcmocka.a"
fi
rm -f -- "$prefix"/lib/libcmocka.so*
rm -rf -- "$prefix/lib/cmake/cmocka"
rmdir -- "$prefix/lib/cmake" 2>/dev/null || true
[[ -f $prefix/lib/libcmocka.a && -f $prefix/include/cmocka.h ]] ||
    die "the cmocka build installed no lib/libcmocka.a + include/cmocka.h into $prefix (see $log)"
printf '%s' "$recorded" >"$stamp"
say "done: $prefix/lib/libcmocka.a, $prefix/include/cmocka.h"
