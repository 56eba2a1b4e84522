# shellcheck shell=bash
# scripts/apt-private.sh - sourced (bash) by every script that downloads
# Debian arm64 packages.  Two things, in one place:
#
#   apt_mirror_uris       prints "MAIN SECURITY": the host's Debian mirror,
#                         read from its apt sources at run time (deb822
#                         debian.sources first, then sources.list); the
#                         repo never names a mirror.  Non-zero if none.
#   apt_private NAME [ARCH]
#                         a private apt state for ARCH (default arm64) in
#                         ${KVMCMO_CACHE:-~/.cache/kvmcmo}/apt/NAME-SUITE for
#                         the host's own suite (+ -updates, -security),
#                         verified with the host keyring.  Sets APT_STATE
#                         (the dir) and APT_O (apt-get/apt-cache options);
#                         the host's apt and dpkg configuration are never
#                         touched.  Lists are fetched by apt_private_update.
#   apt_private_update    apt-get update in that state; non-zero on failure
#                         (the log is in $APT_STATE/update.log).

apt_mirror_uris() {
    local main="" sec="" f=/etc/apt/sources.list.d/debian.sources uris suites u
    if [ -r "$f" ]; then
        # deb822: pair each stanza's URIs with its Suites
        while IFS='|' read -r uris suites; do
            for u in $uris; do
                case " $suites " in
                    *-security*) [ -n "$sec" ] || sec=$u ;;
                    *) [ -n "$main" ] || main=$u ;;
                esac
            done
        done < <(awk '
            function flush() { if (u != "") print u "|" s; u = ""; s = "" }
            /^[ \t]*$/ { flush(); next }
            /^URIs:/   { sub(/^URIs:[ \t]*/, ""); u = $0 }
            /^Suites:/ { sub(/^Suites:[ \t]*/, ""); s = $0 }
            END { flush() }' "$f")
    fi
    if [ -z "$main" ] && [ -r /etc/apt/sources.list ]; then
        main=$(awk '$1=="deb" && $0 !~ /-security/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
        sec=$(awk '$1=="deb" && $0 ~ /-security/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
    fi
    if [ -z "$main" ]; then
        echo "no Debian mirror URI in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
        return 1
    fi
    main=${main%/}
    # the same host's security archive, if the host lists none
    [ -n "$sec" ] || sec=${main%/debian}/debian-security
    echo "$main ${sec%/}"
}

apt_private() {
    local name=$1 arch=${2:-arm64} main sec suite kr=/usr/share/keyrings/debian-archive-keyring.gpg
    read -r main sec < <(apt_mirror_uris) || return 1
    [ -n "$main" ] || return 1
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    APT_SUITE=$suite
    APT_STATE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/apt/$name-$suite
    mkdir -p "$APT_STATE/lists/partial" "$APT_STATE/cache/archives/partial" "$APT_STATE/preferences.d"
    [ -e "$APT_STATE/status" ] || : > "$APT_STATE/status"
    : > "$APT_STATE/preferences"
    {
        echo "deb [arch=$arch signed-by=$kr] $main $suite main"
        echo "deb [arch=$arch signed-by=$kr] $main $suite-updates main"
        echo "deb [arch=$arch signed-by=$kr] $sec $suite-security main"
    } > "$APT_STATE/sources.list"
    APT_O=(-o "Dir::Etc::sourcelist=$APT_STATE/sources.list" -o Dir::Etc::sourceparts=-
           -o "Dir::State::Lists=$APT_STATE/lists" -o "Dir::Cache=$APT_STATE/cache"
           -o "Dir::State::status=$APT_STATE/status"
           -o "Dir::Etc::preferences=$APT_STATE/preferences"
           -o "Dir::Etc::preferencesparts=$APT_STATE/preferences.d"
           -o APT::Architecture=$arch -o APT::Architectures::=$arch -o APT::Sandbox::User=root
           -o Acquire::Languages=none -o Debug::NoLocking=1 -o Acquire::Retries=3)
}

apt_private_update() {
    apt-get "${APT_O[@]}" -q update > "$APT_STATE/update.log" 2>&1 || return 1
    # warnings (a mirror that lacks -updates, say) are shown, not fatal
    grep -E '^(W|E):' "$APT_STATE/update.log" >&2 || true
}
