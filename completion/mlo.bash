# bash completion for mlo                                              -*- shell-script -*-
#
# Installed as share/bash-completion/completions/mlo (loaded on demand by bash-completion), or
# sourced directly: `source completion/mlo.bash`.
#
# Keep the tables below in step with src/cli/command_table.cpp and each command's cmd_*.cpp;
# tests/e2e/test_help_and_man.sh checks that every flag `mlo CMD --help` shows is offered here.

_mlo_commands="init track status checkout diff gc fsck train runs help"

# Commands that have subcommands of their own (src/cli/cmd_runs.cpp).
_mlo_runs_subcommands="list show compare diff"

# Flags every command accepts (src/cli/main.cpp), before or after the command name.
_mlo_global_flags="-C --json -q --quiet -v --verbose --color -h --help"

# Each command's own flags, as spelled in its cmd_<name>.cpp; a subcommand is "runs list".
_mlo_command_flags() {
    case $1 in
    init) echo "--template" ;;
    track) echo "" ;;
    status) echo "--exit-code" ;;
    checkout) echo "--rev -f --force" ;;
    diff) echo "" ;;
    gc) echo "-n --dry-run" ;;
    fsck) echo "" ;;
    train) echo "-S --set -j --jobs -f --force -n --dry-run --rerun --verify --keep" ;;
    runs) echo "" ;;
    "runs list") echo "--filter --sort --limit --columns --csv" ;;
    "runs show") echo "" ;;
    "runs compare") echo "--csv --html" ;;
    "runs diff") echo "" ;;
    help) echo "" ;;
    esac
}

# What a command's positional arguments are: files, git revisions (at most N), command names,
# pipeline stages, subcommands, run ids (at most N), or nothing.
_mlo_command_args() {
    case $1 in
    track | status | checkout) echo "files" ;;
    diff) echo "revs2" ;;
    help) echo "commands" ;;
    train) echo "stages" ;;
    runs) echo "subcommands" ;;
    "runs show") echo "runs1" ;;
    "runs compare") echo "runs" ;;
    "runs diff") echo "runs2" ;;
    *) echo "none" ;;
    esac
}

# Options that take a value; the value's word is not a positional argument.
_mlo_takes_value() {
    case $1 in
    -C | --color | --template | --rev) return 0 ;;
    -S | --set | -j | --jobs | --rerun) return 0 ;;
    --filter | --sort | --limit | --columns | --html) return 0 ;;
    *) return 1 ;;
    esac
}

# The root of the mlo project containing directory $1 (the nearest directory upwards holding
# mlo.yaml), as mlo itself finds it.
_mlo_project_root() {
    local dir
    dir=$(cd -- "${1:-.}" 2>/dev/null && pwd) || return 1
    while true; do
        if [[ -f $dir/mlo.yaml ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
        [[ -z $dir || $dir == / ]] && return 1
        dir=${dir%/*}
        [[ -z $dir ]] && dir=/
    done
}

# The stage names of the project's pipeline: the keys one level below a top-level `pipeline:` line
# of mlo.yaml (block style; a flow-style `pipeline: {...}` offers nothing).
_mlo_pipeline_stages() {
    local root
    root=$(_mlo_project_root "$1") || return 0
    awk '
        /^pipeline:[ \t]*(#.*)?$/ { on = 1; indent = -1; next }
        on && /^[^ \t#]/ { on = 0 }
        on && /^[ \t]+[A-Za-z0-9][A-Za-z0-9_-]*[ \t]*:/ {
            match($0, /^[ \t]+/)
            if (indent < 0) indent = RLENGTH
            if (RLENGTH != indent) next
            name = substr($0, RLENGTH + 1)
            sub(/[ \t]*:.*/, "", name)
            print name
        }' "$root/mlo.yaml" 2>/dev/null
}

# Recorded run ids (newest first) and "latest".
_mlo_run_ids() {
    local root
    echo latest
    root=$(_mlo_project_root "$1") || return 0
    [[ -d $root/.mlo/refs/runs ]] || return 0
    ls -r -- "$root/.mlo/refs/runs" 2>/dev/null
}

# Branches, tags and remote branches of the repository mlo would run in (honouring -C).
_mlo_git_revisions() {
    local dir=${1:-.}
    git -C "$dir" for-each-ref --format='%(refname:short)' 2>/dev/null
    git -C "$dir" rev-parse --verify --quiet HEAD >/dev/null 2>&1 && echo HEAD
}

_mlo_compgen_words() {
    # $1: the candidate words (newline or space separated), $2: the current word.
    # compgen -W splits its list at IFS: newlines only, so that results keep any spaces.
    local IFS=$'\n'
    # shellcheck disable=SC2207
    COMPREPLY+=($(compgen -W "${1// /$'\n'}" -- "$2"))
}

_mlo_compgen_files() {
    local cur=$1 only_dirs=${2:-}
    compopt -o filenames 2>/dev/null || true
    local IFS=$'\n'
    if [[ -n $only_dirs ]]; then
        # shellcheck disable=SC2207
        COMPREPLY+=($(compgen -d -- "$cur"))
    else
        # shellcheck disable=SC2207
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}

_mlo() {
    COMPREPLY=()
    local cur=${COMP_WORDS[COMP_CWORD]-}
    local prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]-}
    # `--color=al`: bash splits at '=' (COMP_WORDBREAKS), giving `--color` `=` `al`.
    if [[ $cur == "=" ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 1]-}
        cur=""
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]-}
    fi

    # Find the command word and the -C directory, skipping global flags and their values.
    local command="" command_index=0 dir="." i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]-}
        if [[ $word == -C ]]; then
            ((i + 1 < COMP_CWORD)) && dir=${COMP_WORDS[i + 1]-}
            ((i++))
            continue
        fi
        if _mlo_takes_value "$word"; then
            [[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
            ((i++))
            continue
        fi
        [[ $word == -* ]] && continue
        if [[ -z $command ]]; then
            command=$word
            command_index=$i
            break
        fi
    done

    # The value of an option.
    case $prev in
    -C)
        _mlo_compgen_files "$cur" dirs
        return 0
        ;;
    --color)
        _mlo_compgen_words "auto always never" "$cur"
        return 0
        ;;
    --template)
        _mlo_compgen_words "default pipeline" "$cur"
        return 0
        ;;
    --rev)
        _mlo_compgen_words "$(_mlo_git_revisions "$dir")" "$cur"
        return 0
        ;;
    --rerun)
        _mlo_compgen_words "$(_mlo_run_ids "$dir")" "$cur"
        return 0
        ;;
    --html)
        _mlo_compgen_files "$cur"
        return 0
        ;;
    -S | --set | -j | --jobs | --filter | --sort | --limit | --columns)
        return 0 # free text: nothing sensible to offer
        ;;
    esac

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            _mlo_compgen_words "$_mlo_global_flags --version" "$cur"
        else
            _mlo_compgen_words "$_mlo_commands" "$cur"
        fi
        return 0
    fi

    # A command with subcommands: the first positional word after it names the subcommand, and
    # from there on the subcommand's flags and arguments apply.
    if [[ $command == runs ]]; then
        for ((i = command_index + 1; i < COMP_CWORD; i++)); do
            word=${COMP_WORDS[i]-}
            if _mlo_takes_value "$word"; then
                [[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
                ((i++))
                continue
            fi
            [[ $word == -* ]] && continue
            command="runs $word"
            command_index=$i
            break
        done
    fi

    if [[ $cur == -* ]]; then
        _mlo_compgen_words "$(_mlo_command_flags "$command") $_mlo_global_flags" "$cur"
        return 0
    fi

    # Count the positional arguments already given after the command.
    local positionals=0
    for ((i = command_index + 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]-}
        if _mlo_takes_value "$word"; then
            [[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
            ((i++))
            continue
        fi
        [[ $word == -* ]] || positionals=$((positionals + 1))
    done

    case $(_mlo_command_args "$command") in
    files)
        _mlo_compgen_files "$cur"
        ;;
    revs2)
        ((positionals < 2)) && _mlo_compgen_words "$(_mlo_git_revisions "$dir")" "$cur"
        ;;
    commands)
        ((positionals < 1)) && _mlo_compgen_words "$_mlo_commands" "$cur"
        ;;
    subcommands)
        ((positionals < 1)) && _mlo_compgen_words "$_mlo_runs_subcommands" "$cur"
        ;;
    stages)
        _mlo_compgen_words "$(_mlo_pipeline_stages "$dir")" "$cur"
        ;;
    runs1)
        ((positionals < 1)) && _mlo_compgen_words "$(_mlo_run_ids "$dir")" "$cur"
        ;;
    runs2)
        ((positionals < 2)) && _mlo_compgen_words "$(_mlo_run_ids "$dir")" "$cur"
        ;;
    runs)
        _mlo_compgen_words "$(_mlo_run_ids "$dir")" "$cur"
        ;;
    esac
    return 0
}

complete -F _mlo mlo
