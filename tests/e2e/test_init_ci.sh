#!/usr/bin/env bash
# mlo init --ci github|gitlab: the workflow written from templates/ci, valid YAML with the pull,
# train, gate and register steps, and never overwritten without --force.
source "$(dirname "$0")/lib.sh"

# Parses FILE as YAML (PyYAML) and prints every shell line of its steps/scripts, one per line.
workflow_commands() {
    python3 - "$1" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
def walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script") and isinstance(value, str):
                print(value)
            elif key == "script" and isinstance(value, list):
                for line in value:
                    print(line)
            else:
                walk(value)
    elif isinstance(node, list):
        for item in node:
            walk(item)
walk(doc)
PY
}

case_github() {
    new_repo
    expect_exit 0 mlo init --ci github
    expect_contains "$OUT" "created .github/workflows/mlo.yml"
    [[ -f mlo.yaml ]] || fail "mlo init --ci did not initialise the project"
    workflow_commands .github/workflows/mlo.yml >commands.txt
    expect_contains commands.txt "mlo pull"
    expect_contains commands.txt "mlo train"
    expect_contains commands.txt 'mlo runs compare "$baseline" "$latest" --fail-if "$MLO_FAIL_IF_VS_MAIN"'
    expect_contains commands.txt 'mlo register "$MLO_MODEL" --from latest'
    python3 -c '
import sys, yaml
doc = yaml.safe_load(open(".github/workflows/mlo.yml"))
assert doc[True]["push"]["branches"] == ["main"], doc[True]   # YAML 1.1 reads `on` as true
steps = doc["jobs"]["mlo"]["steps"]
register = [s for s in steps if "register" in s.get("run", "")][0]
assert register["if"].startswith("github.ref == '"'"'refs/heads/main'"'"'"), register
' || fail "workflow structure"
}

case_gitlab_on_existing_project() {
    new_project
    git checkout -q -b trunk
    expect_exit 0 mlo init --ci gitlab
    expect_contains "$OUT" "created .gitlab-ci.yml"
    workflow_commands .gitlab-ci.yml >commands.txt
    expect_contains commands.txt "mlo pull"
    expect_contains commands.txt "mlo train"
    expect_contains commands.txt "--fail-if"
    expect_contains commands.txt "attributes.branch = 'trunk'"
    python3 -c '
import yaml
doc = yaml.safe_load(open(".gitlab-ci.yml"))
assert doc["stages"] == ["train", "register"], doc["stages"]
assert doc["register"]["rules"][0]["if"].startswith("$CI_COMMIT_BRANCH == \"trunk\""), doc["register"]
' || fail "gitlab structure"
}

case_never_overwrites_without_force() {
    new_project
    mkdir -p .github/workflows
    echo "# mine" >.github/workflows/mlo.yml
    expect_exit 3 mlo init --ci github
    expect_contains "$ERR" ".github/workflows/mlo.yml already exists"
    expect_eq "$(cat .github/workflows/mlo.yml)" "# mine" "the user's workflow"
    expect_exit 0 mlo init --ci github --force
    expect_contains .github/workflows/mlo.yml "mlo train"
    expect_exit 2 mlo init --ci jenkins
    expect_exit 2 mlo init --force
}

# A one-stage pipeline whose metric is its parameter acc (0.95 to start with).
gate_project() {
    pipeline_project <<'EOF'
pipeline:
  fit:
    cmd: >-
      echo "{\"acc\": ${acc}}" >metrics.json
    params: [acc]
    metrics: [metrics.json]
EOF
    printf 'acc: 0.95\n' >params.yaml
}

# What a CI runner gives the gate: mlo on PATH and the workflow's two gates.
gate_env() {
    export PATH=$(dirname "$MLO"):$PATH MLO_FAIL_IF="metrics.acc < 0.9" MLO_FAIL_IF_VS_MAIN="metrics.acc < baseline.metrics.acc"
}

# The workflow's gate step, run as the CI runner would: it passes on a run as good as the main
# branch's last one, and fails (exit 1) on a worse one.
case_github_gate_step_runs() {
    gate_project
    expect_exit 0 mlo init --ci github
    commit_all "pipeline and workflow"
    python3 -c '
import sys, yaml
steps = yaml.safe_load(open(".github/workflows/mlo.yml"))["jobs"]["mlo"]["steps"]
print([s for s in steps if s.get("name") == "Gate on metrics"][0]["run"])
' >gate.sh
    gate_env
    "$MLO" -q train >/dev/null 2>&1
    "$MLO" -q train -f >/dev/null 2>&1
    expect_exit 0 bash -e gate.sh
    "$MLO" -q train -S acc=0.93 >/dev/null 2>&1
    expect_exit 1 bash -e gate.sh
    expect_contains "$ERR" "baseline.metrics.acc = 0.95, metrics.acc = 0.93"
}

# The same for GitLab: the gate lines of the train job's script, run in order by one shell.
case_gitlab_gate_lines_run() {
    gate_project
    expect_exit 0 mlo init --ci gitlab
    commit_all "pipeline and workflow"
    python3 -c '
import yaml
script = yaml.safe_load(open(".gitlab-ci.yml"))["train"]["script"]
print("\n".join(line for line in script if "runs" in line or "baseline" in line))
' >gate.sh
    gate_env
    "$MLO" -q train >/dev/null 2>&1
    "$MLO" -q train -S acc=0.85 >/dev/null 2>&1
    expect_exit 1 bash -e gate.sh
    expect_contains "$ERR" "metrics.acc = 0.85 (--fail-if \"metrics.acc < 0.9\")"
    "$MLO" -q train -S acc=0.97 >/dev/null 2>&1
    expect_exit 0 bash -e gate.sh
    expect_contains "$OUT" "metrics.acc"
}

run_case "init --ci github writes a workflow that pulls, trains, gates and registers" case_github
run_case "init --ci gitlab in an existing project, on its branch" case_gitlab_on_existing_project
run_case "an existing workflow is replaced only with --force" case_never_overwrites_without_force
run_case "the GitHub gate step passes and fails on real runs" case_github_gate_step_runs
run_case "the GitLab gate lines pass and fail on real runs" case_gitlab_gate_lines_run
finish
