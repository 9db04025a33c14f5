#!/usr/bin/env bash
# The command line's self-description stays true: for every command in the command table (read
# from `mlo --help`), `mlo help CMD` prints what `mlo CMD --help` prints, its man page documents
# exactly the flags its --help shows, the man page was built, and the bash completion offers the
# commands and flags. Commands with subcommands (`mlo runs list`, read from the "Subcommands:" of
# `mlo CMD --help`) are held to the same: each subcommand's flags are documented in a subsection
# "## mlo CMD SUB" of the OPTIONS of man/mlo-CMD.1.scd and offered by the completion.
# Also: --version, a bare `mlo`, and a mistyped command.
#
# Run by ctest with MLO, MLO_SOURCE_DIR and MLO_MAN_DIR (the build's man directory).
source "$(dirname "$0")/lib.sh"

: "${MLO_MAN_DIR:?set MLO_MAN_DIR to the directory of the built man pages (ctest does this)}"
MAN_SOURCES=$MLO_SOURCE_DIR/man
COMPLETION=$MLO_SOURCE_DIR/completion/mlo.bash

# --- Helpers -------------------------------------------------------------------------------------

# The subcommand names listed under "Subcommands:" in a help text on stdin, one a line.
subcommands_in_help() {
    awk '
        /^Subcommands:/ { on = 1; next }
        on && /^[^ ]/   { on = 0 }
        on && /^  [a-z]/ { print $1 }'
}

# The commands of `mlo --help`, one a line.
commands_from_help() {
    "$MLO" --help | subcommands_in_help
}

# subcommands_of CMD: the subcommands of `mlo CMD` (none for most commands), one a line.
subcommands_of() {
    "$MLO" "$1" --help | subcommands_in_help
}

# The flags in the "Options:" section of a help text on stdin, one a line ("-h", "--help", ...).
flags_from_help() {
    awk '
        /^Options:/     { on = 1; next }
        /^[^ ]/         { on = 0 }
        on && /^ +-/    { print $1 }' | tr ',' '\n' | grep -E '^-' | LC_ALL=C sort -u || true
}

# flags_from_man PAGE SECTION [SUBSECTION]: the flags documented as option entries in a man page
# source: lines of its OPTIONS section (or GLOBAL OPTIONS for mlo.1) that start with a bold flag,
# e.g. "*-f*, *--force*" or "*--rev* _REV_". Flags merely mentioned in running text are not
# entries. Without SUBSECTION, only the part of the section before its first "## " subsection
# counts (the command's own options); with it, only the subsection "## SUBSECTION" (a
# subcommand's options, e.g. "## mlo runs list").
flags_from_man() {
    awk -v section="$2" -v subsection="${3-}" '
        /^# /  { in_section = ($0 == "# " section); on = in_section && subsection == ""; next }
        /^## / { on = in_section && substr($0, 4) == subsection; next }
        on && /^\*-/' "$1" | grep -oE '\*-[-A-Za-z0-9]+\*' | tr -d '*' | LC_ALL=C sort -u || true
}

# subsections_of PAGE SECTION: the "## " subsection titles inside a section, one a line.
subsections_of() {
    awk -v section="$2" '
        /^# /  { in_section = ($0 == "# " section); next }
        in_section && /^## / { print substr($0, 4) }' "$1"
}

# Lines of file A that are not in file B (both sorted).
missing_from() {
    LC_ALL=C comm -23 "$1" "$2"
}

# complete_line LINE: the candidates the completion script offers for LINE (the cursor at its
# end; a trailing space starts a new, empty word), one a line, sorted. Runs in a fresh bash with
# nounset, as an interactive shell would source it, in the current directory.
complete_line() {
    bash --norc --noprofile -c '
        set -u
        source "$1" || exit 90
        spec=$(complete -p mlo 2>/dev/null) || { echo "no completion registered for mlo" >&2; exit 91; }
        func=$(sed -n "s/.*-F \([^ ]*\) .*/\1/p" <<<"$spec")
        read -ra COMP_WORDS <<<"$2"
        [[ $2 == *" " || -z $2 ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$2
        COMP_POINT=${#2}
        COMPREPLY=()
        "$func" mlo "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]+"${COMPREPLY[@]}"}"
    ' _ "$COMPLETION" "$1" | LC_ALL=C sort -u
}

# expect_offers LINE WORD...: completing LINE offers every WORD.
expect_offers() {
    local line=$1 offered word
    shift
    offered=$(complete_line "$line")
    for word in "$@"; do
        grep -qxF -- "$word" <<<"$offered" ||
            fail "completing '$line' does not offer '$word'; it offers: $(tr '\n' ' ' <<<"$offered")"
    done
}

mapfile -t COMMANDS < <(commands_from_help)
((${#COMMANDS[@]} > 0)) || fail "no commands found under 'Subcommands:' in 'mlo --help'"
echo "commands in 'mlo --help': ${COMMANDS[*]}"

# --- Cases ---------------------------------------------------------------------------------------

case_help_matches_dash_dash_help() {
    new_dir
    local cmd
    for cmd in "${COMMANDS[@]}"; do
        echo "  mlo help $cmd == mlo $cmd --help"
        expect_exit 0 mlo "$cmd" --help
        cp "$OUT" dash_help
        [[ -s dash_help ]] || fail "'mlo $cmd --help' printed nothing"
        expect_exit 0 mlo help "$cmd"
        if ! cmp -s dash_help "$OUT"; then
            echo "--- diff of 'mlo $cmd --help' (<) and 'mlo help $cmd' (>):" >&2
            diff dash_help "$OUT" >&2 || true
            fail "'mlo help $cmd' differs from 'mlo $cmd --help'"
        fi
    done
    expect_exit 2 mlo help no-such-command
    [[ ! -s $OUT ]] || fail "'mlo help no-such-command' printed on stdout: $(cat "$OUT")"
    expect_contains "$ERR" "mlo: error:"

    local sub
    for cmd in "${COMMANDS[@]}"; do
        for sub in $(subcommands_of "$cmd"); do
            echo "  mlo $cmd $sub --help prints its usage"
            expect_exit 0 mlo "$cmd" "$sub" --help
            expect_contains "$OUT" "Usage: mlo $cmd $sub"
        done
    done
}

case_man_pages_document_every_flag() {
    new_dir
    local cmd page flag
    for cmd in "${COMMANDS[@]}"; do
        page=$MAN_SOURCES/mlo-$cmd.1.scd
        echo "  flags of 'mlo $cmd --help' <-> OPTIONS of man/mlo-$cmd.1.scd"
        [[ -f $page ]] || fail "no man page source for '$cmd': $page"
        "$MLO" "$cmd" --help | flags_from_help >help_flags
        flags_from_man "$page" OPTIONS >man_flags
        [[ -s help_flags ]] || fail "no flags found in 'mlo $cmd --help'"
        missing_from help_flags man_flags >undocumented
        [[ ! -s undocumented ]] ||
            fail "man/mlo-$cmd.1.scd OPTIONS does not document: $(tr '\n' ' ' <undocumented)"
        missing_from man_flags help_flags >unknown
        [[ ! -s unknown ]] ||
            fail "man/mlo-$cmd.1.scd OPTIONS documents flags 'mlo $cmd --help' does not show: $(tr '\n' ' ' <unknown)"
        # The global options are documented once, in mlo(1), and referred to from every page.
        awk '/^# /{on = ($0 == "# OPTIONS"); next} on' "$page" | grep -qF '*mlo*(1)' ||
            fail "man/mlo-$cmd.1.scd OPTIONS does not refer to *mlo*(1) for the global options"
        for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
            grep -qxF "# $section" "$page" || fail "man/mlo-$cmd.1.scd has no '# $section' section"
        done
        grep -qE "^mlo-$cmd - " "$page" || fail "man/mlo-$cmd.1.scd NAME does not start with 'mlo-$cmd - '"

        # Subcommands: each has a subsection "## mlo CMD SUB" in OPTIONS documenting exactly its
        # flags, beside those options before the first subsection that the subcommand shares
        # (-h, --help; `mlo register`'s own flags such as --from belong to it alone); and a line
        # of its own in the SYNOPSIS.
        local subs sub
        subs=$(subcommands_of "$cmd")
        for sub in $subs; do
            echo "  flags of 'mlo $cmd $sub --help' <-> OPTIONS, '## mlo $cmd $sub' of man/mlo-$cmd.1.scd"
            subsections_of "$page" OPTIONS | grep -qxF "mlo $cmd $sub" ||
                fail "man/mlo-$cmd.1.scd OPTIONS has no subsection '## mlo $cmd $sub'"
            awk '/^# /{on = ($0 == "# SYNOPSIS"); next} on' "$page" | grep -qF "*mlo $cmd $sub*" ||
                fail "man/mlo-$cmd.1.scd SYNOPSIS does not show '*mlo $cmd $sub*'"
            "$MLO" "$cmd" "$sub" --help | flags_from_help >help_flags
            { flags_from_man "$page" OPTIONS | grep -xFf help_flags || true; flags_from_man "$page" OPTIONS "mlo $cmd $sub"; } |
                LC_ALL=C sort -u >man_flags
            missing_from help_flags man_flags >undocumented
            [[ ! -s undocumented ]] ||
                fail "man/mlo-$cmd.1.scd OPTIONS does not document for '$cmd $sub': $(tr '\n' ' ' <undocumented)"
            missing_from man_flags help_flags >unknown
            [[ ! -s unknown ]] ||
                fail "man/mlo-$cmd.1.scd OPTIONS documents for '$cmd $sub' flags 'mlo $cmd $sub --help' does not show: $(tr '\n' ' ' <unknown)"
        done
        while IFS= read -r sub; do
            [[ $sub == "mlo $cmd "* ]] && grep -qxF "${sub#"mlo $cmd "}" <<<"$subs" ||
                fail "man/mlo-$cmd.1.scd OPTIONS has a subsection '## $sub', which is not a subcommand in 'mlo $cmd --help'"
        done < <(subsections_of "$page" OPTIONS)
    done

    echo "  global flags of 'mlo --help' <-> GLOBAL OPTIONS of man/mlo.1.scd"
    "$MLO" --help | flags_from_help >help_flags
    flags_from_man "$MAN_SOURCES/mlo.1.scd" "GLOBAL OPTIONS" >man_flags
    missing_from help_flags man_flags >undocumented
    [[ ! -s undocumented ]] || fail "man/mlo.1.scd GLOBAL OPTIONS does not document: $(tr '\n' ' ' <undocumented)"
    missing_from man_flags help_flags >unknown
    [[ ! -s unknown ]] ||
        fail "man/mlo.1.scd GLOBAL OPTIONS documents flags 'mlo --help' does not show: $(tr '\n' ' ' <unknown)"

    echo "  man/mlo.1.scd lists every command and refers to its page; no page for a removed command"
    for cmd in "${COMMANDS[@]}"; do
        awk '/^# /{on = ($0 == "# COMMANDS"); next} on' "$MAN_SOURCES/mlo.1.scd" | grep -qE "^\*$cmd\*" ||
            fail "man/mlo.1.scd COMMANDS has no entry for '$cmd'"
        grep -qF "*mlo-$cmd*(1)" "$MAN_SOURCES/mlo.1.scd" || fail "man/mlo.1.scd does not refer to mlo-$cmd(1)"
    done
    for page in "$MAN_SOURCES"/mlo-*.1.scd; do
        cmd=$(basename "$page" .1.scd)
        cmd=${cmd#mlo-}
        printf '%s\n' "${COMMANDS[@]}" | grep -qxF "$cmd" ||
            fail "man/mlo-$cmd.1.scd documents '$cmd', which is not in 'mlo --help'"
    done
    echo "  man/mlo.1.scd documents exit codes 0 1 2 3 70 130, NO_COLOR, the JSON schema and error format"
    for flag in "|  0" "|  1" "|  2" "|  3" "|  70" "|  130" "NO\\_COLOR" '"mlo.*_COMMAND_*/1"' "mlo: error:" "hint:"; do
        grep -qF -- "$flag" "$MAN_SOURCES/mlo.1.scd" || fail "man/mlo.1.scd does not mention '$flag'"
    done
}

case_man_pages_are_built() {
    new_dir
    local name page
    for name in mlo "${COMMANDS[@]/#/mlo-}"; do
        page=$MLO_MAN_DIR/$name.1
        echo "  $page"
        [[ -s $page ]] || fail "man page $page was not built (or is empty); build the 'man' target"
        [[ ! $MAN_SOURCES/$name.1.scd -nt $page ]] ||
            fail "$page is older than man/$name.1.scd; rebuild"
        if command -v groff >/dev/null; then
            groff -man -Tutf8 -ww -z "$page" 2>groff_warnings || true
            [[ ! -s groff_warnings ]] || fail "groff warns about $page: $(cat groff_warnings)"
        fi
        if command -v man >/dev/null; then
            MANWIDTH=80 man -l "$page" >rendered 2>man_errors || fail "man -l $page failed: $(cat man_errors)"
            grep -qF "$name - " rendered || fail "man -l $page does not show the NAME '$name - ...'"
        fi
    done
}

case_version_and_command_errors() {
    new_dir
    echo "  mlo --version prints 'mlo X.Y.Z' (the project's version)"
    expect_exit 0 mlo --version
    grep -qxE 'mlo [0-9]+\.[0-9]+\.[0-9]+' "$OUT" || fail "'mlo --version' printed '$(cat "$OUT")', not 'mlo X.Y.Z'"
    local version
    version=$(sed -nE 's/^project\(mlo VERSION ([0-9.]+).*/\1/p' "$MLO_SOURCE_DIR/CMakeLists.txt")
    [[ -z $version ]] || expect_eq "$(cat "$OUT")" "mlo $version" "mlo --version"

    echo "  mlo (no command) exits 2 and prints the usage on stderr only"
    expect_exit 2 mlo
    [[ ! -s $OUT ]] || fail "'mlo' alone printed on stdout: $(cat "$OUT")"
    expect_contains "$ERR" "Usage:"

    echo "  mlo tarck exits 2 with \"did you mean 'track'\" on stderr and nothing on stdout"
    expect_exit 2 mlo tarck
    [[ ! -s $OUT ]] || fail "'mlo tarck' printed on stdout: $(cat "$OUT")"
    expect_contains "$ERR" "mlo: error:"
    expect_contains "$ERR" "did you mean 'track'"

    echo "  an unknown flag exits 2 with nothing on stdout"
    expect_exit 2 mlo status --no-such-flag
    [[ ! -s $OUT ]] || fail "'mlo status --no-such-flag' printed on stdout: $(cat "$OUT")"
    expect_contains "$ERR" "mlo: error:"
}

case_bash_completion() {
    echo "  bash -n completion/mlo.bash"
    bash -n "$COMPLETION" || fail "completion/mlo.bash has a syntax error"

    new_repo
    echo data >file.csv
    git add file.csv
    git commit -q -m one
    git tag v1.0
    git branch experiment

    echo "  'mlo tr' offers track and train, 'mlo trac' track; 'mlo ' exactly the commands of 'mlo --help'"
    expect_eq "$(complete_line "mlo tr")" "$(printf '%s\n' track train)" "completing 'mlo tr'"
    expect_eq "$(complete_line "mlo trac")" "track" "completing 'mlo trac'"
    expect_eq "$(complete_line "mlo ")" "$(printf '%s\n' "${COMMANDS[@]}" | LC_ALL=C sort -u)" \
        "commands offered for 'mlo '"
    expect_offers "mlo --json -C . st" status
    expect_offers "mlo help tr" track

    local cmd flag sub subs
    for cmd in "${COMMANDS[@]}"; do
        echo "  'mlo $cmd -' offers every flag of 'mlo $cmd --help'"
        mapfile -t flags < <("$MLO" "$cmd" --help | flags_from_help)
        expect_offers "mlo $cmd -" "${flags[@]}"
        subs=$(subcommands_of "$cmd")
        [[ -n $subs ]] || continue
        echo "  'mlo $cmd ' offers exactly its subcommands; 'mlo $cmd SUB -' every flag of SUB"
        expect_eq "$(complete_line "mlo $cmd ")" "$(LC_ALL=C sort -u <<<"$subs")" "subcommands offered for 'mlo $cmd '"
        for sub in $subs; do
            mapfile -t flags < <("$MLO" "$cmd" "$sub" --help | flags_from_help)
            expect_offers "mlo $cmd $sub -" "${flags[@]}"
            expect_offers "mlo --json $cmd $sub -" "${flags[@]}"
        done
    done
    echo "  global flags are offered before the command"
    mapfile -t flags < <("$MLO" --help | flags_from_help)
    expect_offers "mlo -" "${flags[@]}"

    echo "  values: --template, --color, --rev and diff revisions, files"
    local templates
    mapfile -t templates < <(cd "$MLO_SOURCE_DIR/templates/project" && ls -- *.yaml | sed 's/\.yaml$//')
    expect_offers "mlo init --template " "${templates[@]}"
    expect_offers "mlo --color " auto always never
    expect_offers "mlo checkout --rev " main experiment v1.0
    expect_offers "mlo diff " main v1.0
    expect_offers "mlo diff main " experiment
    expect_offers "mlo track fi" file.csv
    expect_offers "mlo status " file.csv

    echo "  values: stage names from mlo.yaml's pipeline, run ids"
    cat >mlo.yaml <<'YAML'
project: completion
pipeline:
  prepare:
    cmd: echo prepare
    outs: [data/prepared]
  train-model:   # a comment
    cmd: echo train
    deps: [data/prepared]
models:
  churn:
    path: model.pkl
YAML
    mkdir -p .mlo/refs/runs sub
    : >.mlo/refs/runs/20261127-041530-a3f9
    : >.mlo/refs/runs/20261128-090000-0001
    expect_eq "$(complete_line "mlo train ")" "$(printf '%s\n' prepare train-model)" "stages offered for 'mlo train '"
    expect_eq "$(cd sub && complete_line "mlo train -j 2 tr")" "train-model" "stages offered in a subdirectory"
    expect_offers "mlo train --rerun " latest 20261127-041530-a3f9 20261128-090000-0001
    expect_offers "mlo runs show 20261127" 20261127-041530-a3f9
    expect_offers "mlo runs diff latest " 20261128-090000-0001
    expect_eq "$(complete_line "mlo runs diff latest 20261127-041530-a3f9 ")" "" "a third run for 'mlo runs diff'"
}

run_case "mlo help CMD prints what mlo CMD --help prints" case_help_matches_dash_dash_help
run_case "man pages document exactly the flags --help shows" case_man_pages_document_every_flag
run_case "man pages are built and render" case_man_pages_are_built
run_case "--version, bare mlo, mistyped command" case_version_and_command_errors
run_case "bash completion" case_bash_completion
finish
