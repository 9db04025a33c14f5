# bash completion for mlo                                              -*- shell-script -*-
#
# Installed as share/bash-completion/completions/mlo (loaded on demand by bash-completion), or
# sourced directly: `source completion/mlo.bash`.
#
# Keep the tables below in step with src/cli/command_table.cpp and each command's cmd_*.cpp;
# tests/e2e/test_help_and_man.sh checks that every flag `mlo CMD --help` shows is offered here.

_mlo_commands="init track status checkout diff gc fsck help"

# Flags every command accepts (src/cli/main.cpp), before or after the command name.
_mlo_global_flags="-C --json -q --quiet -v --verbose --color -h --help"

# Each command's own flags, as spelled in its cmd_<name>.cpp.
_mlo_command_flags() {
    case $1 in
    init) echo "--template" ;;
    track) echo "" ;;
    status) echo "--exit-code" ;;
    checkout) echo "--rev -f --force" ;;
    diff) echo "" ;;
    gc) echo "-n --dry-run" ;;
    fsck) echo "" ;;
    help) echo "" ;;
    esac
}

# What a command's positional arguments are: files, git revisions (at most N), command names, or
# nothing.
_mlo_command_args() {
    case $1 in
    track | status | checkout) echo "files" ;;
    diff) echo "revs2" ;;
    help) echo "commands" ;;
    *) echo "none" ;;
    esac
}

# Options that take a value; the value's word is not a positional argument.
_mlo_takes_value() {
    case $1 in
    -C | --color | --template | --rev) return 0 ;;
    *) return 1 ;;
    esac
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
    esac

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            _mlo_compgen_words "$_mlo_global_flags --version" "$cur"
        else
            _mlo_compgen_words "$_mlo_commands" "$cur"
        fi
        return 0
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
    esac
    return 0
}

complete -F _mlo mlo
