#!/usr/bin/env bash
# mlo schedule install/list/remove: systemd user units under $XDG_CONFIG_HOME and crontab lines,
# shown before being installed, found again by their markers, and quoted so that the command
# reaches sh byte for byte. A fake `crontab` and a fake `systemctl` on PATH stand in for the real
# ones (which need a user session or a cron daemon).
source "$(dirname "$0")/lib.sh"

FAKES=$(mktemp -d "${TMPDIR:-/tmp}/mlo-e2e-schedule-bin.XXXXXX")
E2E_TMPDIRS+=("$FAKES")
# crontab -l / crontab -: the table lives in $FAKE_CRONTAB.
cat >"$FAKES/crontab" <<'EOF2'
#!/bin/sh
case "$1" in
  -l) [ -f "$FAKE_CRONTAB" ] || { echo "no crontab for $(id -un)" >&2; exit 1; }; cat "$FAKE_CRONTAB" ;;
  -) cat >"$FAKE_CRONTAB" ;;
  *) echo "fake crontab: unexpected $*" >&2; exit 2 ;;
esac
EOF2
# systemctl: logs its arguments.
cat >"$FAKES/systemctl" <<'EOF2'
#!/bin/sh
echo "$*" >>"$FAKE_SYSTEMCTL_LOG"
EOF2
chmod +x "$FAKES/crontab" "$FAKES/systemctl"

schedule_project() {
    new_project
    export XDG_CONFIG_HOME=$REPO/.xdg
    export FAKE_CRONTAB=$REPO/.crontab FAKE_SYSTEMCTL_LOG=$REPO/.systemctl.log
    export PATH=$FAKES:$PATH
    PROJECT=$(sed -n 's/^project: *//p' mlo.yaml)
    UNITS=$XDG_CONFIG_HOME/systemd/user
}

case_systemd_shown_then_installed() {
    schedule_project
    expect_exit 0 mlo schedule install --every 1h 'mlo monitor check' --systemd
    expect_contains "$OUT" "ExecStart=/bin/sh -c \"mlo monitor check\""
    expect_contains "$OUT" "OnUnitActiveSec=3600s"
    expect_contains "$ERR" "run again with --yes"
    [[ ! -e $UNITS ]] || fail "units written without --yes"
    [[ ! -e $FAKE_SYSTEMCTL_LOG ]] || fail "systemctl ran without --yes"

    expect_exit 0 mlo schedule install --every 1h 'mlo monitor check' --systemd --yes
    local unit=mlo-$PROJECT-monitor-check
    [[ -f $UNITS/$unit.service && -f $UNITS/$unit.timer ]] || fail "units not written: $(ls -R "$XDG_CONFIG_HOME")"
    expect_contains "$UNITS/$unit.service" "WorkingDirectory=$REPO"
    expect_contains "$UNITS/$unit.timer" "Unit=$unit.service"
    expect_contains "$FAKE_SYSTEMCTL_LOG" "--user daemon-reload"
    expect_contains "$FAKE_SYSTEMCTL_LOG" "--user enable --now $unit.timer"

    expect_exit 0 mlo schedule list
    expect_contains "$OUT" "$unit"
    expect_contains "$OUT" "systemd"
    expect_contains "$OUT" "mlo monitor check"

    expect_exit 0 mlo schedule remove monitor-check
    [[ ! -e $UNITS/$unit.timer && ! -e $UNITS/$unit.service ]] || fail "units left behind"
    expect_contains "$FAKE_SYSTEMCTL_LOG" "--user disable --now $unit.timer"
    expect_exit 0 mlo --json schedule list
    expect_eq "$(json_get "$OUT" schedules.#)" 0 "schedules after remove"
    expect_exit 2 mlo schedule remove monitor-check
    expect_contains "$ERR" "no schedule named 'monitor-check'"
}

# The command reaches sh exactly: systemd's %, $, \ and " and cron's % are escaped.
case_quoting() {
    schedule_project
    local cmd='echo "100% $HOME" \ ok; date +%s'
    expect_exit 0 mlo schedule install --every 15m --name tricky "$cmd" --systemd --yes --no-enable
    [[ ! -e $FAKE_SYSTEMCTL_LOG ]] || fail "systemctl ran with --no-enable"
    local exec_line
    exec_line=$(sed -n 's/^ExecStart=//p' "$UNITS/mlo-$PROJECT-tricky.service")
    expect_eq "$exec_line" '/bin/sh -c "echo \"100%% $$HOME\" \\ ok; date +%%s"' "ExecStart"
    expect_exit 0 mlo schedule install --every 15m --name tricky2 "$cmd" --cron --yes
    expect_contains "$FAKE_CRONTAB" "*/15 * * * * cd '$REPO' && echo \"100\\% \$HOME\" \\ ok; date +\\%s"
    # What cron would run, after it turns \% back into %, is the command as written.
    local line
    line=$(grep -v '^#' "$FAKE_CRONTAB" | sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* //; s/\\%/%/g')
    expect_eq "$line" "cd '$REPO' && $cmd" "the cron command"
    # Multi-line commands are refused: both formats are line-based.
    expect_exit 2 mlo schedule install --every 1h $'mlo train\nrm -rf /' --cron --yes
    expect_contains "$ERR" "one line"
}

case_cron() {
    schedule_project
    printf '# the user'"'"'s own line\n0 3 * * * backup\n' >"$FAKE_CRONTAB"
    expect_exit 0 mlo schedule install --every 1h 'mlo monitor check' --cron
    expect_contains "$OUT" "0 */1 * * * cd '$REPO' && mlo monitor check"
    expect_not_contains "$FAKE_CRONTAB" "mlo monitor check"
    expect_exit 0 mlo schedule install --every 1h 'mlo monitor check' --cron --yes
    expect_contains "$FAKE_CRONTAB" "# mlo-schedule mlo-$PROJECT-monitor-check every=1h: mlo monitor check"
    # Installing again replaces the entry instead of adding a second one.
    expect_exit 0 mlo schedule install --every 2h 'mlo monitor check' --cron --yes
    expect_eq "$(grep -c '&& mlo monitor check$' "$FAKE_CRONTAB")" 1 "entries after a reinstall"
    expect_contains "$FAKE_CRONTAB" "0 */2 * * *"
    expect_exit 0 mlo schedule list
    expect_contains "$OUT" "cron"
    expect_contains "$OUT" "2h"
    expect_exit 0 mlo schedule remove "mlo-$PROJECT-monitor-check"
    expect_eq "$(cat "$FAKE_CRONTAB")" "# the user's own line
0 3 * * * backup" "the crontab after remove"
    # Intervals cron cannot express exactly are refused, with the alternatives.
    expect_exit 2 mlo schedule install --every 7m 'mlo monitor check' --cron
    expect_contains "$ERR" "cron cannot run something exactly every 7m"
    expect_exit 2 mlo schedule install --every soon 'mlo monitor check' --cron
    expect_contains "$ERR" "'soon' is not an interval"
}

case_not_ours() {
    schedule_project
    mkdir -p "$UNITS"
    echo "[Timer]" >"$UNITS/mlo-$PROJECT-foreign.timer"
    expect_exit 3 mlo schedule remove foreign
    expect_contains "$ERR" "was not written by mlo"
    [[ -f $UNITS/mlo-$PROJECT-foreign.timer ]] || fail "a foreign unit was removed"
}

run_case "systemd: shown, installed with --yes, listed, removed" case_systemd_shown_then_installed
run_case "commands are quoted for systemd and cron" case_quoting
run_case "cron: the user's crontab kept, entries replaced and removed" case_cron
run_case "units mlo did not write are left alone" case_not_ours
finish
