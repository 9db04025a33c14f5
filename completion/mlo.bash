# bash completion for mlo                                              -*- shell-script -*-
#
# Installed as share/bash-completion/completions/mlo (loaded on demand by bash-completion), or
# sourced directly: `source completion/mlo.bash`.
#
# Keep the tables below in step with src/cli/command_table.cpp and each command's cmd_*.cpp;
# tests/e2e/test_help_and_man.sh checks that every flag `mlo CMD --help` shows is offered here.

_mlo_commands="init track status checkout diff push pull fetch gc fsck train runs register serve deploy monitor keys audit schedule help"

# The subcommands of the commands that have them (src/cli/cmd_runs.cpp, cmd_register.cpp,
# cmd_keys.cpp, cmd_audit.cpp, cmd_deploy.cpp); nothing for the others.
_mlo_subcommands() {
    case $1 in
    runs) echo "list show compare diff" ;;
    register) echo "list show diff promote demote deprecate get verify" ;;
    deploy) echo "status logs stop history rollback" ;;
    keys) echo "generate list" ;;
    audit) echo "log verify" ;;
    monitor) echo "check watch" ;;
    schedule) echo "install list remove" ;;
    esac
}

# Flags every command accepts (src/cli/main.cpp), before or after the command name.
_mlo_global_flags="-C --json -q --quiet -v --verbose --color -h --help"

# Each command's own flags, as spelled in its cmd_<name>.cpp; a subcommand is "runs list".
_mlo_command_flags() {
    case $1 in
    init) echo "--template --ci --force" ;;
    track) echo "" ;;
    status) echo "--exit-code" ;;
    checkout) echo "--rev -f --force" ;;
    diff) echo "" ;;
    push) echo "-r --remote -j --jobs --rescan --all-commits --run" ;;
    pull) echo "-r --remote -j --jobs -f --force --all-commits --run" ;;
    fetch) echo "-r --remote -j --jobs --all-commits --run" ;;
    gc) echo "-n --dry-run" ;;
    fsck) echo "" ;;
    train) echo "-S --set -j --jobs --executor -f --force -n --dry-run --rerun --verify --keep" ;;
    runs) echo "" ;;
    "runs list") echo "--filter --sort --limit --columns --csv" ;;
    "runs show") echo "--fail-if" ;;
    "runs compare") echo "--csv --html --fail-if" ;;
    "runs diff") echo "" ;;
    register) echo "--from --version --bump --description --allow-dirty --sign --key" ;;
    "register list") echo "" ;;
    "register show") echo "--markdown" ;;
    "register diff") echo "" ;;
    "register promote") echo "--to --sign --key --signature --sign-only" ;;
    "register demote") echo "--from --sign --key --signature --sign-only" ;;
    "register deprecate") echo "--sign --key --signature --sign-only" ;;
    "register get") echo "-o --output" ;;
    "register verify") echo "" ;;
    serve) echo "--host -p --port --workers --token-file --token-env --tls-cert --tls-key --ready-file" ;;
    deploy) echo "-t --target --strategy --steps --interval --max-error-rate --max-p99-ms --ready-timeout -o --output --apply" ;;
    "deploy status") echo "-t --target" ;;
    "deploy logs") echo "-t --target -n --lines" ;;
    "deploy stop" | "deploy history" | "deploy rollback") echo "-t --target" ;;
    monitor) echo "" ;;
    "monitor check") echo "--model --current --since --labels --reference --html --prom --no-retrain --holdout --sign" ;;
    "monitor watch") echo "--model --current --since --labels --reference --html --prom --no-retrain --holdout --sign --every --count" ;;
    keys) echo "" ;;
    "keys generate") echo "--name" ;;
    "keys list") echo "" ;;
    audit) echo "" ;;
    "audit log" | "audit verify") echo "" ;;
    schedule) echo "" ;;
    "schedule install") echo "--every --name --systemd --cron --yes --no-enable" ;;
    "schedule list") echo "" ;;
    "schedule remove") echo "--no-enable" ;;
    help) echo "" ;;
    esac
}

# What a command's positional arguments are: files, git revisions (at most N), command names,
# pipeline stages, subcommands, run ids (at most N), model versions (at most N), a model name, a
# MODEL#STAGE, or nothing. `register` takes either a subcommand or the model to register.
_mlo_command_args() {
    case $1 in
    track | status | checkout) echo "files" ;;
    diff) echo "revs2" ;;
    help) echo "commands" ;;
    train) echo "stages" ;;
    runs | keys | audit | monitor | schedule) echo "subcommands" ;;
    "runs show") echo "runs1" ;;
    "runs compare") echo "runs" ;;
    "runs diff") echo "runs2" ;;
    register) echo "register" ;;
    "register show" | "register promote" | "register deprecate" | "register get") echo "refs1" ;;
    "register diff") echo "refs2" ;;
    "register demote") echo "model1" ;;
    "register verify") echo "stagerefs1" ;;
    serve) echo "refs1" ;;
    deploy) echo "deploy" ;;
    *) echo "none" ;;
    esac
}

# _mlo_takes_value WORD [COMMAND]: whether option WORD takes a value (so the value's word is not a
# positional argument). --version takes one only after `register` (else it is the global flag).
_mlo_takes_value() {
    case $1 in
    -C | --color | --template | --rev) return 0 ;;
    -S | --set | -j | --jobs | --rerun) return 0 ;;
    --filter | --sort | --limit | --columns | --html) return 0 ;;
    --from | --bump | --description | --key | --to | --signature | --markdown | -o | --output) return 0 ;;
    --name) return 0 ;;
    --model | --current | --since | --labels | --reference | --prom | --holdout | --every | --count) return 0 ;;
    --ci | --executor | --fail-if) return 0 ;;
    --host | -p | --port | --workers | --token-file | --token-env | --tls-cert | --tls-key | --ready-file) return 0 ;;
    -t | --target | --strategy | --steps | --interval | --max-error-rate | --max-p99-ms | --ready-timeout | -n | --lines) return 0 ;;
    --version) [[ ${2-} == register ]] ;;
    *) return 1 ;;
    esac
}

# _mlo_is_one_of WORD LIST: whether WORD is one of the space-separated words of LIST.
_mlo_is_one_of() {
    [[ " $2 " == *" $1 "* ]]
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

# _mlo_section_keys SECTION DIR: the keys one level below a top-level `SECTION:` line of the
# project's mlo.yaml (block style; a flow-style `SECTION: {...}` offers nothing). Keys are names
# of letters, digits, '_', '-' and '/', optionally quoted.
_mlo_section_keys() {
    local root
    root=$(_mlo_project_root "$2") || return 0
    awk -v section="$1" '
        $0 ~ "^" section ":[ \t]*(#.*)?$" { on = 1; indent = -1; next }
        on && /^[^ \t#]/ { on = 0 }
        on && /^[ \t]+["\047]?[A-Za-z0-9][A-Za-z0-9_\/-]*["\047]?[ \t]*:/ {
            match($0, /^[ \t]+/)
            if (indent < 0) indent = RLENGTH
            if (RLENGTH != indent) next
            name = substr($0, RLENGTH + 1)
            sub(/[ \t]*:.*/, "", name)
            gsub(/["\047]/, "", name)
            print name
        }' "$root/mlo.yaml" 2>/dev/null
}

# The stage names of the project's pipeline.
_mlo_pipeline_stages() {
    _mlo_section_keys pipeline "$1"
}

# The models of the project: the keys of mlo.yaml's `models:`.
_mlo_model_names() {
    _mlo_section_keys models "$1"
}

# The registry stages: the list `stages:` of mlo.yaml's `registry:`, in flow style
# (`stages: [staging, production]`, also inside `registry: {stages: [...]}`) or block style
# (one `- name` a line).
_mlo_registry_stages() {
    local root
    root=$(_mlo_project_root "$1") || return 0
    awk '
        function flow(text,    items, n, i, item) {
            sub(/^[^[]*\[/, "", text)
            sub(/\].*/, "", text)
            n = split(text, items, ",")
            for (i = 1; i <= n; i++) {
                item = items[i]
                gsub(/^[ \t"\047]+|[ \t"\047]+$/, "", item)
                if (item ~ /^[A-Za-z0-9][A-Za-z0-9_\/-]*$/) print item
            }
        }
        /^registry:[ \t]*\{.*stages:[ \t]*\[/ { flow(substr($0, index($0, "stages:"))); next }
        /^registry:[ \t]*(#.*)?$/ { on = 1; list = 0; next }
        on && /^[^ \t#]/ { on = 0; list = 0 }
        !on { next }
        /^[ \t]+stages:[ \t]*\[/ { flow($0); list = 0; next }
        /^[ \t]+stages:[ \t]*(#.*)?$/ { list = 1; next }
        list && /^[ \t]+-[ \t]*/ {
            item = $0
            sub(/^[ \t]+-[ \t]*/, "", item)
            sub(/[ \t]*(#.*)?$/, "", item)
            gsub(/^["\047]|["\047]$/, "", item)
            if (item ~ /^[A-Za-z0-9][A-Za-z0-9_\/-]*$/) print item
            next
        }
        list && /^[ \t]+[^ \t#-]/ { list = 0 }' "$root/mlo.yaml" 2>/dev/null
}

# _mlo_model_versions DIR MODEL: the registered versions of MODEL (tags MODEL@vX.Y.Z that are not
# deregistrations), and MODEL@latest.
_mlo_model_versions() {
    local tag
    echo "$2@latest"
    while IFS= read -r tag; do
        [[ $tag == "$2@v"*[0-9] ]] && printf '%s\n' "$tag"
    done < <(git -C "$1" tag -l -- "$2@v*" 2>/dev/null)
}

# _mlo_stage_refs DIR [MODEL...]: MODEL#STAGE for each model (default: every model) and stage.
_mlo_stage_refs() {
    local dir=$1 model stage
    shift
    local -a models=("$@") stages
    ((${#models[@]} > 0)) || mapfile -t models < <(_mlo_model_names "$dir")
    mapfile -t stages < <(_mlo_registry_stages "$dir")
    for model in "${models[@]+"${models[@]}"}"; do
        for stage in "${stages[@]+"${stages[@]}"}"; do
            printf '%s\n' "$model#$stage"
        done
    done
}

# The names of the user's signing keys (files NAME.pem in the keys directory, found as
# `mlo keys` finds it).
_mlo_key_names() {
    local dir=${MLO_KEYS_DIR-} file
    if [[ -z $dir ]]; then
        if [[ ${XDG_CONFIG_HOME-} == /* ]]; then
            dir=$XDG_CONFIG_HOME/mlo/keys
        elif [[ -n ${HOME-} ]]; then
            dir=$HOME/.config/mlo/keys
        else
            return 0
        fi
    fi
    for file in "$dir"/*.pem; do
        [[ -f $file ]] || continue
        file=${file##*/}
        printf '%s\n' "${file%.pem}"
    done
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

# _mlo_reassemble_words: COMP_WORDS and COMP_CWORD as the command line's words, into the caller's
# `words` and `cword`. Bash splits words at the characters of COMP_WORDBREAKS, among them '@', so
# `churn@v1.2.0` arrives as `churn` `@` `v1.2.0`; pieces that no blank separates on the command
# line are joined again around an '@'. ('=' stays split: `--color=al` is handled as
# `--color` `=` `al` below.)
_mlo_reassemble_words() {
    words=()
    cword=0
    local line=${COMP_LINE-} i word blank last=-1 trimmed
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        word=${COMP_WORDS[i]-}
        blank=1
        if [[ -n $line ]]; then
            trimmed=${line#"${line%%[![:space:]]*}"}
            [[ ${#trimmed} == "${#line}" ]] && blank=0
            line=$trimmed
            [[ $line == "$word"* ]] && line=${line:${#word}}
        fi
        if ((i > 0 && blank == 0 && last >= 0)) && [[ $word == @* || ${words[last]} == *@ ]]; then
            words[last]+=$word
        else
            words+=("$word")
            last=$((last + 1))
        fi
        ((i == COMP_CWORD)) && cword=$last
    done
    ((${#words[@]} > 0)) || { words=(""); cword=0; }
    return 0
}

# _mlo_compgen_refs CUR DIR: what a model version argument can be: MODEL (offered without a
# trailing space, to go on with '@' or '#'), MODEL@vX.Y.Z and MODEL@latest, MODEL#STAGE.
_mlo_compgen_refs() {
    local cur=$1 dir=$2
    case $cur in
    *@*) _mlo_compgen_words "$(_mlo_model_versions "$dir" "${cur%%@*}")" "$cur" ;;
    *#*) _mlo_compgen_words "$(_mlo_stage_refs "$dir" "${cur%%#*}")" "$cur" ;;
    *)
        _mlo_compgen_words "$(_mlo_model_names "$dir")" "$cur"
        ((${#COMPREPLY[@]} > 0)) && { compopt -o nospace 2>/dev/null || true; }
        ;;
    esac
}

_mlo() {
    COMPREPLY=()
    local -a words
    local cword
    _mlo_reassemble_words
    local cur=${words[cword]-}
    local prev=""
    ((cword > 0)) && prev=${words[cword - 1]-}
    # `--color=al`: bash splits at '=' (COMP_WORDBREAKS), giving `--color` `=` `al`.
    if [[ $cur == "=" ]]; then
        prev=${words[cword - 1]-}
        cur=""
    elif [[ $prev == "=" ]] && ((cword > 1)); then
        prev=${words[cword - 2]-}
    fi
    # The part of the current word before the last '@' that bash does not replace (it completes
    # only the piece after it): taken off the candidates at the end.
    local bash_cur=${COMP_WORDS[COMP_CWORD]-} keep=""
    [[ $cur != "$bash_cur" && $cur == *"$bash_cur" ]] && keep=${cur%"$bash_cur"}

    # Find the command word and the -C directory, skipping global flags and their values.
    local command="" command_index=0 dir="." i word
    for ((i = 1; i < cword; i++)); do
        word=${words[i]-}
        if [[ $word == -C ]]; then
            ((i + 1 < cword)) && dir=${words[i + 1]-}
            ((i++))
            continue
        fi
        if _mlo_takes_value "$word"; then
            [[ ${words[i + 1]-} == "=" ]] && ((i++))
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

    # A command with subcommands: the first positional word after it names the subcommand, and
    # from there on the subcommand's flags and arguments apply. For `register`, a first word that
    # is not a subcommand is the model to register.
    local subcommands
    subcommands=$(_mlo_subcommands "$command")
    if [[ -n $subcommands ]]; then
        for ((i = command_index + 1; i < cword; i++)); do
            word=${words[i]-}
            if _mlo_takes_value "$word" "$command"; then
                [[ ${words[i + 1]-} == "=" ]] && ((i++))
                ((i++))
                continue
            fi
            [[ $word == -* ]] && continue
            if _mlo_is_one_of "$word" "$subcommands"; then
                command="$command $word"
                command_index=$i
            fi
            break
        done
    fi

    _mlo_complete_word
    if [[ -n $keep ]]; then
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$keep"}
        done
    fi
    return 0
}

# The candidates for the current word, from _mlo's locals: cur, prev, command, command_index,
# subcommands, dir, words, cword.
_mlo_complete_word() {
    local i word

    # The value of an option.
    case $prev in
    -C | -o | --output)
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
    --ci)
        _mlo_compgen_words "github gitlab" "$cur"
        return 0
        ;;
    --executor)
        _mlo_compgen_words "local slurm" "$cur"
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
    --html | --markdown)
        _mlo_compgen_files "$cur"
        return 0
        ;;
    --from)
        if [[ $command == "register demote" ]]; then
            _mlo_compgen_words "$(_mlo_registry_stages "$dir")" "$cur"
        else
            _mlo_compgen_words "$(_mlo_run_ids "$dir")" "$cur"
        fi
        return 0
        ;;
    --to)
        _mlo_compgen_words "$(_mlo_registry_stages "$dir")" "$cur"
        return 0
        ;;
    --bump)
        _mlo_compgen_words "patch minor major" "$cur"
        return 0
        ;;
    --key)
        _mlo_compgen_words "$(_mlo_key_names)" "$cur"
        return 0
        ;;
    -S | --set | -j | --jobs | --filter | --sort | --limit | --columns | --description | --signature | --name)
        return 0 # free text: nothing sensible to offer
        ;;
    --version)
        [[ $command == register ]] && return 0 # a new version number
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
    for ((i = command_index + 1; i < cword; i++)); do
        word=${words[i]-}
        if _mlo_takes_value "$word" "$command"; then
            [[ ${words[i + 1]-} == "=" ]] && ((i++))
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
        ((positionals < 1)) && _mlo_compgen_words "$subcommands" "$cur"
        ;;
    register | deploy)
        ((positionals < 1)) && _mlo_compgen_words "$subcommands $(_mlo_model_names "$dir")" "$cur"
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
    refs1)
        ((positionals < 1)) && _mlo_compgen_refs "$cur" "$dir"
        ;;
    refs2)
        ((positionals < 2)) && _mlo_compgen_refs "$cur" "$dir"
        ;;
    model1)
        ((positionals < 1)) && _mlo_compgen_words "$(_mlo_model_names "$dir")" "$cur"
        ;;
    stagerefs1)
        ((positionals < 1)) && _mlo_compgen_words "$(_mlo_stage_refs "$dir")" "$cur"
        ;;
    esac
    return 0
}

complete -F _mlo mlo
