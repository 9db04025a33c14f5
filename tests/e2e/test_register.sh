#!/usr/bin/env bash
# mlo register: versions from the workspace and from runs, semver bumps, the dirty-tree guard,
# stage resolution through assignments and unassignments, tags made elsewhere, get (verified),
# diff, deprecate, the model card, and gc keeping registered files.
source "$(dirname "$0")/lib.sh"
export XDG_CONFIG_HOME="$E2E_SCRATCH/config"

# json_ok ARGS...: `mlo --json ARGS` must succeed; the document is in $OUT.
json_ok() { expect_exit 0 mlo --json "$@"; }

# A project whose one stage writes models/m.bin from params.yaml, with a registered model `clf`.
registry_project() {
    pipeline_project <<'EOF2'
pipeline:
  train:
    cmd: "mkdir -p models && cp params.yaml models/m.bin && echo \"{\\\"acc\\\": $(cat acc)}\" > metrics.json"
    deps: [params.yaml, acc]
    params: [lr]
    outs: [models/m.bin]
    metrics: [metrics.json]
models:
  clf:
    path: models/m.bin
    type: sklearn
    description: churn classifier
    signature:
      inputs: [{name: x, type: double}, {name: email, type: string, pii: true}]
      outputs: [{name: y, type: int64}]
registry:
  stages: [staging, production]
EOF2
    echo "lr: 0.1" >params.yaml
    echo 0.8 >acc
    commit_all setup
}

# train_and_commit LR ACC: one trained, committed state.
train_and_commit() {
    echo "lr: $1" >params.yaml
    echo "$2" >acc
    mlo -q train >/dev/null 2>&1
    commit_all "lr $1"
}

case_register_from_workspace() {
    registry_project
    train_and_commit 0.1 0.8
    json_ok register clf
    expect_eq "$(json_get "$OUT" tag)" "clf@v0.0.1"
    expect_eq "$(json_get "$OUT" run)" "$(run_id)" "the producing run is found"
    manifest=$(json_get "$OUT" manifest)
    # The manifest is a store object named by its own sha256, as sha256sum computes it.
    expect_eq "sha256:$(sha256sum "$(obj_path "$manifest")" | cut -d' ' -f1)" "$manifest"
    # The annotated tag points at HEAD and carries the manifest id.
    expect_eq "$(git rev-parse 'clf@v0.0.1^{commit}')" "$(git rev-parse HEAD)"
    git cat-file -p 'clf@v0.0.1' >"$E2E_SCRATCH/tag"
    expect_contains "$E2E_SCRATCH/tag" "mlo-manifest: $manifest"
    expect_contains "$E2E_SCRATCH/tag" "tagger mlo e2e <e2e@mlo.invalid>"
    json_ok register show clf@v0.0.1
    expect_eq "$(json_get "$OUT" manifest.files.0.id)" "sha256:$(sha256sum models/m.bin | cut -d' ' -f1)"
    expect_eq "$(json_get "$OUT" manifest.files.0.path)" "m.bin"
    expect_eq "$(json_get "$OUT" manifest.lineage.metrics.acc)" "0.8"
    expect_eq "$(json_get "$OUT" manifest.lineage.params.lr)" "0.1"
    expect_eq "$(json_get "$OUT" manifest.lineage.commit)" "$(git rev-parse HEAD)"
    expect_eq "$(json_get "$OUT" manifest.lineage.dirty)" "false"
    expect_eq "$(json_get "$OUT" manifest.signature.inputs.1.pii)" "true"
    expect_eq "$(json_get "$OUT" manifest.author.email)" "e2e@mlo.invalid"
    expect_eq "$(json_get "$OUT" manifest.description)" "churn classifier"
    expect_exit 0 mlo register show clf
    expect_contains "$OUT" "clf v0.0.1"
    expect_contains "$OUT" "acc = 0.8"
    expect_contains "$OUT" "email: string (pii)"
}
run_case "register from the workspace: manifest, tag, lineage from the producing run" case_register_from_workspace

case_semver() {
    registry_project
    train_and_commit 0.1 0.8
    expect_exit 0 mlo register clf
    expect_contains "$OUT" "clf@v0.0.1"
    expect_exit 0 mlo register clf
    expect_contains "$OUT" "clf@v0.0.2"
    expect_contains "$ERR" "identical to clf@v0.0.1"
    expect_exit 0 mlo register clf --bump minor
    expect_contains "$OUT" "clf@v0.1.0"
    expect_exit 0 mlo register clf --bump major
    expect_contains "$OUT" "clf@v1.0.0"
    expect_exit 0 mlo register clf --version v2.5.0
    expect_contains "$OUT" "clf@v2.5.0"
    expect_exit 0 mlo register clf
    expect_contains "$OUT" "clf@v2.5.1"
    # An older number that is free may still be used (a fix on an old line).
    expect_exit 0 mlo register clf --version v1.0.1
    expect_exit 2 mlo register clf --version v2.5.0
    expect_contains "$ERR" "clf@v2.5.0 is already registered"
    expect_contains "$ERR" "the next free one is v2.5.2"
    for bad in 1.2.3 v1.2 v01.2.3 v1.2.3-rc1; do
        expect_exit 2 mlo register clf --version "$bad"
        expect_contains "$ERR" "is not a version"
    done
    expect_exit 2 mlo register clf --bump huge
    json_ok register list
    expect_eq "$(json_get "$OUT" models.0.latest)" "v2.5.1"
    expect_eq "$(json_get "$OUT" models.0.versions)" "7"
}
run_case "versions: first v0.0.1, patch/minor/major bumps, explicit, taken and malformed" case_semver

case_from_run() {
    registry_project
    train_and_commit 0.1 0.8
    first=$(run_id)
    train_and_commit 0.2 0.9
    # The workspace now holds the second model; --from takes the first run's bytes.
    json_ok register clf --from "$first"
    expect_eq "$(json_get "$OUT" run)" "$first"
    expect_exit 0 mlo register get clf@v0.0.1 -o out
    expect_eq "$(cat out/m.bin)" "lr: 0.1"
    json_ok register show clf@v0.0.1
    expect_eq "$(json_get "$OUT" manifest.lineage.metrics.acc)" "0.8"
    expect_eq "$(json_get "$OUT" manifest.lineage.commit)" "$(git rev-parse HEAD~1)"
    expect_eq "$(git rev-parse 'clf@v0.0.1^{commit}')" "$(git rev-parse HEAD~1)" "the tag points at the run's code"
    expect_exit 2 mlo register clf --from nosuchrun
    expect_contains "$ERR" "nosuchrun"
    # The second run was made from an edited params.yaml, committed right after training: the
    # commit holds exactly the run's code, so the version is clean and points there.
    json_ok runs show latest
    expect_eq "$(json_get "$OUT" run.git.dirty)" "true"
    json_ok register clf
    json_ok register show clf@v0.0.2
    expect_eq "$(json_get "$OUT" manifest.lineage.dirty)" "false"
    expect_eq "$(json_get "$OUT" manifest.lineage.commit)" "$(git rev-parse HEAD)"
    # Code changed after the run was made: that run keeps its own commit and dirty flag.
    echo "lr: 0.3" >params.yaml
    echo 0.95 >acc
    mlo -q train >/dev/null 2>&1
    echo "# unrelated" >>params.yaml
    commit_all "more edits"
    expect_exit 3 mlo register clf
    expect_contains "$ERR" "uncommitted changes"
}
run_case "register --from RUN takes that run's out and commit" case_from_run

case_dirty_tree() {
    registry_project
    train_and_commit 0.1 0.8
    echo "# local edit" >>params.yaml
    mlo -q train >/dev/null 2>&1 # a run from uncommitted params
    expect_exit 3 mlo register clf
    expect_contains "$ERR" "uncommitted changes"
    expect_contains "$ERR" "--allow-dirty"
    expect_eq "$(git tag | wc -l)" "0" "nothing registered"
    json_ok register clf --allow-dirty
    json_ok register show clf
    expect_eq "$(json_get "$OUT" manifest.lineage.dirty)" "true"
    expect_eq "$(json_get "$OUT" manifest.lineage.allow_dirty)" "true"
    expect_exit 0 mlo register show clf
    expect_contains "$OUT" "uncommitted changes (--allow-dirty)"
}
run_case "a dirty tree is refused unless --allow-dirty, which is recorded" case_dirty_tree

case_bad_names() {
    registry_project
    train_and_commit 0.1 0.8
    expect_exit 2 mlo register cfl
    expect_contains "$ERR" "unknown model 'cfl' (did you mean 'clf'?)"
    expect_exit 2 mlo register show clf
    expect_contains "$ERR" "model 'clf' has no registered versions"
    expect_exit 0 mlo register clf
    expect_exit 2 mlo register promote clf@v0.0.1 --to prodution
    expect_contains "$ERR" "unknown stage 'prodution' (did you mean 'production'?)"
    expect_exit 2 mlo register promote clf@v9.9.9 --to staging
    expect_contains "$ERR" "has no version v9.9.9"
    expect_exit 2 mlo register show 'clf@latest!'
    expect_exit 2 mlo register show '-bad'
    expect_exit 2 mlo register show 'a..b'
    expect_contains "$ERR" "valid model name"
    expect_exit 2 mlo register shwo clf
    expect_contains "$ERR" "did you mean 'show'"
    expect_exit 2 mlo register show 'clf#qa'
    expect_contains "$ERR" "unknown stage 'qa'"
    expect_eq "$(git tag | wc -l)" "1"
}
run_case "unknown models, stages, versions and malformed names are refused" case_bad_names

case_stage_resolution() {
    registry_project
    train_and_commit 0.1 0.8
    mlo -q register clf
    train_and_commit 0.2 0.9
    mlo -q register clf
    expect_exit 0 mlo register promote clf@v0.0.1 --to staging
    expect_contains "$OUT" "clf#staging#1"
    expect_exit 0 mlo register promote clf@v0.0.2 --to staging
    expect_contains "$OUT" "clf#staging#2"
    expect_exit 0 mlo register promote clf#staging --to production
    expect_contains "$OUT" "clf#production#3"
    json_ok register show clf#production
    expect_eq "$(json_get "$OUT" manifest.version)" "v0.0.2"
    expect_exit 0 mlo register demote clf --from staging
    expect_contains "$OUT" "clf#staging!#4"
    expect_exit 2 mlo register show clf#staging
    expect_contains "$ERR" "has no version in stage 'staging'"
    expect_exit 2 mlo register demote clf --from staging
    expect_exit 0 mlo register promote clf@v0.0.1 --to staging
    expect_contains "$OUT" "clf#staging#5"
    expect_exit 2 mlo register promote clf@v0.0.1 --to staging
    expect_contains "$ERR" "already in stage 'staging'"
    json_ok register list
    expect_eq "$(json_get "$OUT" models.0.stages.staging)" "v0.0.1"
    expect_eq "$(json_get "$OUT" models.0.stages.production)" "v0.0.2"
    # The highest N wins, not the newest tag: a hand-made assignment with a lower N loses even
    # though it is created last (and its tagger date is in the future).
    GIT_COMMITTER_DATE="2099-01-01T00:00:00" git tag -a 'clf#staging#0' -m 'made by hand' "clf@v0.0.2^{commit}"
    json_ok register show clf#staging
    expect_eq "$(json_get "$OUT" manifest.version)" "v0.0.1"
    # ... and a higher N made by another tool (no mlo fields) wins, naming the version on its commit.
    git tag -a 'clf#staging#9' -m 'assigned with GTO' "clf@v0.0.2^{commit}"
    json_ok register show clf#staging
    expect_eq "$(json_get "$OUT" manifest.version)" "v0.0.2"
    expect_exit 0 mlo register show clf@v0.0.2
    expect_contains "$OUT" "promoted to staging"
    expect_contains "$OUT" "demoted from staging"
    # The next mlo tag continues after the highest counter of any stage.
    expect_exit 0 mlo register promote clf@v0.0.1 --to production
    expect_contains "$OUT" "clf#production#10"
}
run_case "stage resolution: assignments, unassignments, highest N wins" case_stage_resolution

case_tags_from_elsewhere_and_index() {
    registry_project
    train_and_commit 0.1 0.8
    mlo -q register clf
    git clone -q "$REPO" "$REPO/../clone-$$"
    clone=$(cd "$REPO/../clone-$$" && pwd -P)
    E2E_TMPDIRS+=("$clone")
    json_ok -C "$clone" register list
    expect_eq "$(json_get "$OUT" models.0.latest)" "v0.0.1"
    # A version registered in the first clone appears in the second after a plain fetch.
    train_and_commit 0.2 0.9
    mlo -q register clf
    mlo -q register promote clf@v0.0.2 --to staging
    (cd "$clone" && git fetch -q --tags origin)
    json_ok -C "$clone" register list
    expect_eq "$(json_get "$OUT" models.0.latest)" "v0.0.2"
    expect_eq "$(json_get "$OUT" models.0.stages.staging)" "v0.0.2"
    # Packed refs are read too, and a deleted tag disappears.
    git pack-refs --all
    json_ok register list
    expect_eq "$(json_get "$OUT" models.0.versions)" "2"
    git tag -d 'clf#staging#1' >/dev/null
    json_ok register list
    expect_eq "$(json_get "$OUT" models.0.stages)" "{}"
    # The index is derived: deleting it loses nothing.
    rm -f .mlo/index.db .mlo/index.db-wal .mlo/index.db-shm
    json_ok register list
    expect_eq "$(json_get "$OUT" models.0.latest)" "v0.0.2"
}
run_case "tags from another clone show at once; packed refs; the index is rebuilt" case_tags_from_elsewhere_and_index

case_get() {
    registry_project
    train_and_commit 0.1 0.8
    mlo -q register clf
    json_ok register get clf -o deploy/model
    expect_eq "$(json_get "$OUT" version)" "v0.0.1"
    expect_file_eq deploy/model/m.bin models/m.bin
    expect_exit 2 mlo register get clf -o deploy/model
    expect_contains "$ERR" "exists and is not an empty directory"
    # A corrupted object is refused and nothing is left behind.
    object=$(obj_path "$(pointer_hash_of_file models/m.bin)")
    chmod u+w "$object"
    echo "tampered" >"$object"
    expect_exit 1 mlo register get clf@v0.0.1 -o other
    expect_contains "$ERR" "m.bin"
    [[ ! -e other ]] || fail "a refused get left 'other' behind"
    [[ -z $(find . -maxdepth 1 -name '.other*') ]] || fail "a refused get left a temp directory"
}
pointer_hash_of_file() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
run_case "get writes verified files, refuses a corrupt object and leaves nothing" case_get

case_directory_model() {
    pipeline_project <<'EOF2'
models:
  bert:
    path: models/bert
registry:
  stages: [production]
EOF2
    mkdir -p models/bert/tok
    echo weights >models/bert/w.bin
    echo vocab >models/bert/tok/vocab.txt
    chmod +x models/bert/w.bin
    echo "models/" >.gitignore
    commit_all "model by hand"
    json_ok register bert
    expect_eq "$(json_get "$OUT" files)" "2"
    expect_eq "$(json_get "$OUT" run)" ""
    expect_exit 0 mlo register get bert -o got
    expect_file_eq got/tok/vocab.txt models/bert/tok/vocab.txt
    [[ -x got/w.bin ]] || fail "the executable bit was not restored"
    # Registered versions keep their objects through gc, even when nothing else refers to them.
    rm -rf models/bert got
    expect_exit 0 mlo gc
    expect_exit 0 mlo fsck
    expect_exit 0 mlo register get bert -o again
    expect_eq "$(cat again/tok/vocab.txt)" "vocab"
}
run_case "a directory model made by hand: files, exec bit, kept by gc" case_directory_model

case_diff_and_card() {
    registry_project
    train_and_commit 0.1 0.8
    mlo -q register clf
    echo "# comment" >>README
    commit_all docs
    train_and_commit 0.2 0.9
    mlo -q register clf
    json_ok register diff clf@v0.0.1 clf@v0.0.2
    expect_eq "$(json_get "$OUT" metrics.0.key)" "acc"
    expect_eq "$(json_get "$OUT" metrics.0.before)" "0.8"
    expect_eq "$(json_get "$OUT" metrics.0.after)" "0.9"
    expect_eq "$(json_get "$OUT" params.0.key)" "lr"
    for changed in README acc mlo.lock params.yaml; do
        expect_contains "$OUT" "\"$changed\""
    done
    expect_exit 0 mlo register diff clf@v0.0.1 clf@v0.0.2
    expect_contains "$OUT" "acc"
    expect_contains "$OUT" "0.8 -> 0.9"
    expect_exit 2 mlo register diff clf@v0.0.1 other@v0.0.1
    expect_exit 0 mlo register promote clf@v0.0.2 --to production
    expect_exit 0 mlo register show clf#production --markdown card.md
    for section in "# Model card: clf v0.0.2" "## Lineage" "## Metrics" "| acc | 0.9 |" "## Parameters" \
        "## Signature" "| email | inputs | string (PII) |" "## Files" "## History" "promoted to production"; do
        expect_contains card.md "$section"
    done
}
run_case "diff between versions and the model card as Markdown" case_diff_and_card

case_deprecate() {
    registry_project
    train_and_commit 0.1 0.8
    mlo -q register clf
    mlo -q register clf
    mlo -q register promote clf@v0.0.2 --to production
    expect_exit 3 mlo register deprecate clf@v0.0.2
    expect_contains "$ERR" "demote it first"
    expect_exit 0 mlo register deprecate clf@v0.0.1
    expect_contains "$OUT" "clf@v0.0.1!"
    expect_exit 3 mlo register promote clf@v0.0.1 --to staging
    expect_contains "$ERR" "deregistered"
    json_ok register list
    expect_eq "$(json_get "$OUT" models.0.latest)" "v0.0.2"
    expect_exit 0 mlo register deprecate clf
    expect_contains "$OUT" "clf@deprecated"
    expect_exit 3 mlo register clf
    expect_contains "$ERR" "deprecated"
    expect_exit 0 mlo register list
    expect_contains "$OUT" "clf (deprecated)"
    expect_exit 0 mlo audit verify
}
run_case "deprecate a version (not while staged) and a whole model" case_deprecate

case_concurrent_registers() {
    registry_project
    train_and_commit 0.1 0.8
    # Four registers at once all compute the same next version; tag creation is atomic, so each
    # either gets its own version or is refused naming the tag it lost; nothing is half-made.
    local pids=() codes=()
    for i in 1 2 3 4; do
        "$MLO" register clf >"$E2E_SCRATCH/out$i" 2>"$E2E_SCRATCH/err$i" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        rc=0
        wait "$pid" || rc=$?
        codes+=("$rc")
    done
    for i in 0 1 2 3; do
        [[ ${codes[i]} == 0 || ${codes[i]} == 3 ]] || fail "register $i exited ${codes[i]}: $(cat "$E2E_SCRATCH/err$((i + 1))")"
        if [[ ${codes[i]} == 3 ]]; then expect_contains "$E2E_SCRATCH/err$((i + 1))" "already exists"; fi
    done
    tags=$(git tag -l 'clf@*' | wc -l)
    successes=$(printf '%s\n' "${codes[@]}" | grep -c '^0$' || true)
    expect_eq "$tags" "$successes" "one tag per successful register"
    ((successes >= 1)) || fail "no register succeeded"
    expect_exit 0 mlo audit verify
    expect_exit 0 mlo fsck
}
run_case "concurrent registers: each gets a version or a clear refusal" case_concurrent_registers

finish
